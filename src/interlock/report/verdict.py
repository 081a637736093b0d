"""The run's one verdict: ``verdict.json``, which every other artifact repeats.

Each gate that can decide the exit status (failed tests, the SLO gate, the coverage
gate, the baseline under ``--fail-on-regression``, a stack that could not start, a
report writer that raised, an interrupt) adds a ``Reason`` to the session's ``Ledger``.
At the end of the session the controller folds them into one ``Verdict``, makes the
exit status agree with it, writes ``verdict.json``, adds a JUnit case for each reason
no other case shows, and says on stderr why a run that is not PASS is not. The HTML
summary and ``interlock runs list``/``show`` read ``verdict.json`` and nothing else for
the verdict: a run folder without one (a run killed before its end, or still running)
has no verdict, which is never a pass.

Statuses, strongest first: INTERRUPTED (the session was stopped: nothing judged), FAIL
(a gate judged and failed), NOT JUDGED (a gate could not judge: usage, start or
internal error), PASS (every gate judged and passed, and the run completed).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, final

import pytest

__all__ = [
    "LEDGER",
    "NO_VERDICT",
    "VERDICT_FILE",
    "Judge",
    "Kind",
    "Ledger",
    "Reason",
    "Verdict",
    "describe",
    "fold",
    "judge_merged",
    "ledger",
    "read_verdict",
    "write_verdict",
]

VERDICT_FILE: Final = "verdict.json"
#: what every artifact says of a run folder that holds no verdict.json
NO_VERDICT: Final = "NO VERDICT"

Status = Literal["PASS", "FAIL", "INTERRUPTED", "NOT JUDGED"]
Kind = Literal["failure", "error", "interrupted"]
_STATUSES: Final = ("PASS", "FAIL", "INTERRUPTED", "NOT JUDGED")


@final
@dataclass(frozen=True, kw_only=True)
class Reason:
    """Why a run is not PASS: ``gate`` names what decided it ("tests", "slo", "coverage",
    "baseline", "stack", "report", "interrupt"), ``text`` is one line.

    ``kind``: "failure" (judged and failed), "error" (could not judge), "interrupted".
    ``said``: the gate printed its own line for it; ``cased``: it wrote its own JUnit case.
    """

    gate: str
    text: str
    kind: Kind = "failure"
    said: bool = False
    cased: bool = False


@final
@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The run's verdict. ``exit_code`` is ``interlock run``'s exit status for it
    (0 pass, 1 failure, 2 not judged, 130 interrupted); ``reasons`` are one line each."""

    status: Status
    exit_code: int
    reasons: tuple[str, ...] = ()

    def line(self) -> str:
        """``"FAIL: why; and why"`` (``"PASS"`` alone when there is nothing to say)."""
        return f"{self.status}: {'; '.join(self.reasons)}" if self.reasons else self.status

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "exit_code": self.exit_code, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: Any) -> Verdict:
        """Raises ValueError when ``data`` is not a verdict.json document."""
        try:
            status = data["status"]
            if status not in _STATUSES:
                raise ValueError(f"unknown status {status!r}")
            return cls(
                status=status,
                exit_code=int(data["exit_code"]),
                reasons=tuple(str(r) for r in data["reasons"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a verdict: {exc}") from None


@final
@dataclass
class Ledger:
    """The reasons the gates of one session gave, in the order they gave them."""

    reasons: list[Reason] = field(default_factory=list)

    def add(self, reason: Reason) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)


LEDGER = pytest.StashKey[Ledger]()


def ledger(config: pytest.Config) -> Ledger:
    """The session's ledger (made on first use)."""
    return config.stash.setdefault(LEDGER, Ledger())


def fold(reasons: list[Reason], exitstatus: int) -> Verdict:
    """One verdict from the gates' ``reasons`` and pytest's ``exitstatus``.

    A non-zero exit status no gate explained is not a pass either: it is a reason of
    its own ("pytest exit status N").
    """
    kinds: set[Kind] = {r.kind for r in reasons}
    texts = [_first_line(r.text) for r in reasons]  # the rest is in the log or JUnit case
    if exitstatus != pytest.ExitCode.OK and not reasons:
        kinds.add("failure" if exitstatus == pytest.ExitCode.TESTS_FAILED else "error")
        texts.append(f"pytest exit status {int(exitstatus)}")
    if "interrupted" in kinds:
        return Verdict(status="INTERRUPTED", exit_code=130, reasons=tuple(texts))
    if "failure" in kinds:
        return Verdict(status="FAIL", exit_code=1, reasons=tuple(texts))
    if "error" in kinds:
        return Verdict(status="NOT JUDGED", exit_code=2, reasons=tuple(texts))
    return Verdict(status="PASS", exit_code=0)


def _first_line(text: str) -> str:
    return next(iter(text.splitlines()), "")


def write_verdict(run_dir: Path, verdict: Verdict) -> Path:
    """Write ``run_dir/verdict.json`` whole or not at all; returns its path."""
    path = run_dir / VERDICT_FILE
    tmp = path.with_name(f".{VERDICT_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(verdict.to_dict(), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_verdict(run_dir: Path) -> Verdict | None:
    """The verdict of the run folder ``run_dir``; None when it holds no verdict.json.

    Raises ValueError when the file is there but is not a verdict.
    """
    path = run_dir / VERDICT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        return Verdict.from_dict(json.loads(text))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def describe(run_dir: Path) -> str:
    """The verdict of ``run_dir`` as one line, ``NO VERDICT`` when it has none."""
    try:
        verdict = read_verdict(run_dir)
    except ValueError as exc:
        return f"{NO_VERDICT}: {exc}"
    if verdict is None:
        return f"{NO_VERDICT}: no {VERDICT_FILE} (the run was killed before its end, or still runs)"
    return verdict.line()


@final
class Judge:
    """In the controller: folds the session's reasons into its verdict, once, at its end.

    It is called by the last writer of the session (report.html), after every gate,
    the JUnit writer and the stack's teardown have finished.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.interrupt: BaseException | None = None

    def keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupt = excinfo.value

    def _interrupt_reason(
        self, session: pytest.Session, stack_failures: list[str]
    ) -> Reason | None:
        value = self.interrupt
        if stack_failures:
            return None  # a stack that could not start stopped the run: its reason says it
        if isinstance(value, pytest.exit.Exception):
            kind: Kind = (
                "interrupted" if session.exitstatus == pytest.ExitCode.INTERRUPTED else "error"
            )
            return Reason(gate="interrupt", text=f"stopped: {value.msg}", kind=kind)
        if isinstance(value, pytest.Session.Interrupted):  # errors during collection
            return Reason(gate="tests", text=str(value), said=True, cased=True)
        if value is not None or session.exitstatus == pytest.ExitCode.INTERRUPTED:
            # the child of `interlock run` raises a KeyboardInterrupt named Terminated on SIGTERM
            signal = (
                "terminated (SIGTERM)"
                if type(value).__name__ == "Terminated"
                else ("interrupted (SIGINT or Ctrl-C)")
            )
            return Reason(gate="interrupt", text=f"{signal}: nothing judged", kind="interrupted")
        return None

    def finish(self, session: pytest.Session, failed_tests: int) -> Verdict:
        """The verdict of ``session``, whose ``failed_tests`` tests failed or errored.

        Makes the session's exit status agree with it (a FAIL exits 1 at least, a NOT
        JUDGED 2 at least), adds a JUnit case for each reason no other case shows and
        says on stderr why a run is not PASS, unless every reason was said already.
        """
        stack = self.config.pluginmanager.get_plugin("interlock-stack")
        stack_failures: list[str] = list(getattr(stack, "failures", None) or [])
        reasons: list[Reason] = []
        interrupt = self._interrupt_reason(session, stack_failures)
        if interrupt is not None:
            reasons.append(interrupt)
        for failure in stack_failures:
            text = failure.removeprefix("interlock: ")
            reasons.append(Reason(gate="stack", text=text, kind="error", said=True, cased=True))
        if failed_tests:
            text = f"{failed_tests} test{'s' if failed_tests > 1 else ''} failed"
            reasons.append(Reason(gate="tests", text=text, said=True, cased=True))
        if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            # pytest's summary says so; `interlock run` exits 1 for it
            reasons.append(Reason(gate="tests", text="no tests ran", said=True))
        reasons += ledger(self.config).reasons
        verdict = fold(reasons, session.exitstatus)
        if session.exitstatus == pytest.ExitCode.OK:
            if verdict.status == "FAIL":
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            elif verdict.status == "NOT JUDGED":
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        uncased = [r for r in reasons if not r.cased]
        if uncased:
            self._junit(uncased)
        if verdict.status != "PASS" and not (reasons and all(r.said for r in reasons)):
            self._say(f"interlock: {verdict.line()}")
        return verdict

    def _junit(self, reasons: list[Reason]) -> None:
        from interlock.report.junit import Case, append_suite, junit_path

        path = junit_path(self.config)
        if path is None:
            return
        cases = [
            Case(
                name=reason.gate,
                outcome="failure" if reason.kind == "failure" else "error",
                message=_first_line(reason.text),
                text=reason.text,
            )
            for reason in reasons
        ]
        append_suite(path, "interlock.verdict", cases)

    def _say(self, line: str) -> None:
        say(self.config, line)


def judge_merged(run: Path, shards: list[Path]) -> Verdict:
    """The verdict of a merged run folder ``run``, judged again on its merged files.

    A failed test, a breached SLO (on the exact merged figures) or a failed coverage is a
    FAIL; a shard of ``shards`` that was interrupted or not judged makes the merge so too
    (a shard's own FAIL is judged again here, on the whole). Raises ValueError when a
    file of ``run`` is not what its name says.
    """
    from interlock.report.outcomes import TESTS_FILE, read_outcomes

    reasons: list[Reason] = []
    for shard in shards:
        verdict = read_verdict(shard)
        if verdict is not None and verdict.status in ("INTERRUPTED", "NOT JUDGED"):
            kind: Kind = "interrupted" if verdict.status == "INTERRUPTED" else "error"
            reasons.append(Reason(gate="shard", text=f"{shard.name}: {verdict.line()}", kind=kind))
    failed = sum(o.outcome in ("failed", "error") for o in read_outcomes(run / TESTS_FILE))
    if failed:
        reasons.append(
            Reason(gate="tests", text=f"{failed} test{'s' if failed > 1 else ''} failed")
        )
    slo = _document(run / "slo.json")
    if slo is not None and not slo.get("ok", False):
        breached = [str(w.get("name")) for w in slo.get("workflows", []) if not w.get("ok", True)]
        reasons.append(Reason(gate="slo", text=f"SLO breached: {', '.join(breached)}"))
    coverage = _document(run / "coverage.json")
    # "failed" is absent from older runs' files, where "ok" was the verdict
    if coverage is not None and coverage.get("failed", not coverage.get("ok", False)):
        reasons.append(Reason(gate="coverage", text=str(coverage.get("summary", "coverage: FAIL"))))
    return fold(reasons, pytest.ExitCode.OK)


def _document(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a JSON object")
    return document


def say(config: pytest.Config, line: str) -> None:
    """One line on stderr, never glued to the end of a test progress line on stdout."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.ensure_newline()
        terminal.flush()
    print(line, file=sys.stderr, flush=True)
