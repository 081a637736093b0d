"""Every run against the saved baseline: ``regressions.json``, a terminal section, and with
``--fail-on-regression`` exit status 1 when a workflow regressed.

The baseline is ``<artifacts>/baseline/slo.json`` (``interlock baseline save``) or the
file ``--baseline`` names. No baseline: nothing is compared and nothing is claimed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import final

import pytest

from interlock.errors import InterlockError
from interlock.plugin.run import RunContext, run_context
from interlock.report.baseline import (
    REGRESSIONS_FILE,
    Comparison,
    baseline_path,
    compare_documents,
    write_comparisons,
)
from interlock.report.verdict import Kind, Reason, ledger
from interlock.slo.report import SloReport

__all__ = ["BaselineCheck"]


@final
class BaselineCheck:
    """Compares the run's SLO report with the baseline once the gate has built it."""

    NAME = "interlock-baseline"

    def __init__(self, run: RunContext, baseline: Path, *, strict: bool) -> None:
        self.run = run
        self.baseline = baseline
        self.strict = strict
        self.session: pytest.Session | None = None
        self.comparisons: list[Comparison] = []
        self.problem = ""

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def pytest_interlock_report(self, report: SloReport, run_dir: Path) -> None:
        if not self.baseline.is_file():
            if self.strict:
                self.problem = f"no baseline at {self.baseline} (interlock baseline save)"
                self._fail(pytest.ExitCode.USAGE_ERROR)
            return
        try:
            saved = json.loads(self.baseline.read_text(encoding="utf-8"))
            self.comparisons = compare_documents(saved, report.to_dict())
        except (ValueError, InterlockError) as exc:
            self.problem = f"not compared with the baseline {self.baseline}: {exc}"
            if self.strict:
                self._fail(pytest.ExitCode.USAGE_ERROR)
            return
        write_comparisons(self.comparisons, self.baseline, run_dir / REGRESSIONS_FILE)
        regressed = [c.workflow for c in self.comparisons if c.verdict == "regressed"]
        if self.strict and regressed:
            self.problem = (
                f"{', '.join(regressed)} regressed against the baseline {self.baseline} "
                "(--fail-on-regression)"
            )
            self._fail(pytest.ExitCode.TESTS_FAILED)

    def _fail(self, code: pytest.ExitCode) -> None:
        if self.session is None:
            return
        if self.session.exitstatus == pytest.ExitCode.OK:
            self.session.exitstatus = code
        # a missing or unreadable baseline is a run not judged; a regression, a failed one
        kind: Kind = "failure" if code == pytest.ExitCode.TESTS_FAILED else "error"
        ledger(self.session.config).add(Reason(gate="baseline", text=self.problem, kind=kind))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.problem:
            terminalreporter.write_line(f"interlock: {self.problem}", red=True)
        if not self.comparisons:
            return
        terminalreporter.write_sep("=", f"against the baseline {self.baseline}")
        for comparison in self.comparisons:
            regressed = comparison.verdict == "regressed"
            terminalreporter.write_line(comparison.describe(), red=regressed)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interlock")
    group.addoption(
        "--baseline",
        metavar="FILE",
        default=None,
        help="slo.json to compare each workflow's latencies with "
        "(default: <artifacts>/baseline/slo.json, made by 'interlock baseline save')",
    )
    group.addoption(
        "--fail-on-regression",
        action="store_true",
        default=False,
        help="exit 1 when a workflow regressed against the baseline (2 when there is none)",
    )


def pytest_configure(config: pytest.Config) -> None:
    run = run_context(config)
    if run.worker is not None:
        return
    chosen = config.getoption("baseline")
    strict = bool(config.getoption("fail_on_regression"))
    path = Path(chosen) if chosen else baseline_path(run.config.artifacts)
    if strict and importlib.util.find_spec("scipy") is None:
        raise pytest.UsageError(
            "interlock: comparing with a baseline needs scipy: pip install 'interlock[report]'"
        )
    if strict and not path.is_file():
        # known before anything starts: not after the whole suite has run
        raise pytest.UsageError(
            f"interlock: --fail-on-regression: no baseline at {path} "
            "(interlock baseline save RUN makes one; --baseline FILE names another)"
        )
    config.pluginmanager.register(BaselineCheck(run, path, strict=strict), BaselineCheck.NAME)
