"""``--repeat N``: run the session's tests N times, each round in a new random order, and
name every test that both passed and failed (flaky), with the flaky rate against the seed's
target (under 1 %).

The order of round ``r`` is a shuffle seeded by the run's seed and ``r``, so a run is
replayed with ``--seed``. The rounds run in one session (one stack), the way pytest's
own rerun plugins run an item again. Written to the run folder as ``flaky.json``.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from typing import Final, final

import pytest

from interlock.plugin.run import RunContext, run_context

__all__ = ["FLAKY_FILE", "TARGET", "FlakyReport", "Repeater", "round_order"]

FLAKY_FILE: Final = "flaky.json"
#: the seed's flakiness target: under 1 % of tests
TARGET: Final = 0.01


def round_order(items: list[pytest.Item], seed: int, round_no: int) -> list[pytest.Item]:
    """The items in round ``round_no``'s order (a seeded shuffle; the same for the same seed)."""
    shuffled = list(items)
    random.Random(f"{seed}:{round_no}").shuffle(shuffled)
    return shuffled


@final
class FlakyReport:
    """Outcomes per test over the rounds; flaky = passed at least once and failed at least once."""

    def __init__(self) -> None:
        self.outcomes: dict[str, list[str]] = defaultdict(list)

    def add(self, nodeid: str, outcome: str) -> None:
        self.outcomes[nodeid].append(outcome)

    @property
    def flaky(self) -> list[str]:
        return sorted(
            nodeid
            for nodeid, seen in self.outcomes.items()
            if "passed" in seen and any(o in ("failed", "error") for o in seen)
        )

    @property
    def rate(self) -> float:
        """Share of tests that were flaky, 0..1."""
        return len(self.flaky) / len(self.outcomes) if self.outcomes else 0.0

    def summary(self, rounds: int) -> str:
        verdict = "within" if self.rate < TARGET else "ABOVE"
        return (
            f"{len(self.flaky)} of {len(self.outcomes)} tests flaky over {rounds} rounds: "
            f"{self.rate * 100:.2f}% ({verdict} the {TARGET * 100:g}% target)"
        )

    def lines(self) -> list[str]:
        return [f"{n}: {' '.join(self.outcomes[n])}" for n in self.flaky]


@final
class Repeater:
    """Runs every item ``rounds`` times, reshuffled each round; tallies each test's outcomes."""

    NAME = "interlock-repeat"

    def __init__(self, run: RunContext, rounds: int) -> None:
        self.run = run
        self.rounds = rounds
        self.report = FlakyReport()
        self._phase: dict[str, str] = {}

    @pytest.hookimpl(tryfirst=True)  # instead of pytest's own loop, which runs each item once
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} errors during collection")
        if session.config.option.collectonly:
            return True
        order: list[pytest.Item] = []
        for r in range(self.rounds):
            this_round = round_order(session.items, self.run.seed, r)
            if order and len(this_round) > 1 and this_round[0] is order[-1]:
                # an item must not be its own next item: pytest would keep its setup up
                this_round[0], this_round[1] = this_round[1], this_round[0]
            order += this_round
        for i, item in enumerate(order):
            nextitem = order[i + 1] if i + 1 < len(order) else None
            if nextitem is item:  # a session of one test: a full teardown between rounds
                nextitem = None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        return True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        current = self._phase.get(report.nodeid, "")
        if report.failed:
            current = "failed" if report.when == "call" else "error"
        elif report.when == "call" and report.passed and current == "":
            current = "passed"
        elif report.skipped and current == "":
            current = "skipped"
        self._phase[report.nodeid] = current
        if report.when == "teardown":
            self.report.add(report.nodeid, self._phase.pop(report.nodeid) or "skipped")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        folder = self.run.ensure_run_dir()
        document = {
            "rounds": self.rounds,
            "tests": len(self.report.outcomes),
            "flaky": self.report.flaky,
            "rate": self.report.rate,
            "target": TARGET,
            "summary": self.report.summary(self.rounds),
            "lines": self.report.lines(),
        }
        path = folder / FLAKY_FILE
        tmp = path.with_name(f".{FLAKY_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("=", "flakiness")
        for line in self.report.lines():
            terminalreporter.write_line(f"FLAKY {line}", yellow=True)
        terminalreporter.write_line(self.report.summary(self.rounds))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("interlock").addoption(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="run every test N times, each round in a new random order, and report "
        "the flaky ones (passed and failed)",
    )


def pytest_configure(config: pytest.Config) -> None:
    rounds = config.getoption("repeat")
    if rounds is None:
        return
    if rounds < 1:
        raise pytest.UsageError(f"interlock: --repeat {rounds}: expected 1 or more rounds")
    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist", "no") != "no":
        raise pytest.UsageError("interlock: --repeat runs in one process; drop -n")
    run = run_context(config)
    config.pluginmanager.register(Repeater(run, rounds), Repeater.NAME)
