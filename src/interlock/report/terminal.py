"""The SLO table on the terminal, and a line naming each breach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from interlock.slo.report import SloReport, WorkflowResult
from interlock.slo.thresholds import format_ms

__all__ = ["format_table", "pytest_interlock_report", "pytest_terminal_summary"]

_HEADER = ("workflow", "runs", "success", "p50 ms", "p95 ms", "p99 ms", "max ms", "verdict")


def _row(result: WorkflowResult) -> tuple[str, ...]:
    f = result.figures
    figures: tuple[str, ...]
    if result.no_data:
        figures = ("0", "-", "-", "-", "-", "-")
    else:
        figures = (
            str(f.runs),
            f"{f.rate * 100:.1f}%",
            *(format_ms(f.percentile(p)) for p in (50, 95, 99)),
            format_ms(f.max_ms),
        )
    broken = result.breaches()
    if result.not_judged is not None:
        verdict = "not run (partial run)"
    elif result.no_data:
        verdict = f"FAIL no data ({', '.join(v.threshold.expression for v in broken)})"
    elif broken:
        verdict = "FAIL " + ", ".join(v.describe() for v in broken)
    else:
        verdict = "PASS"
    return (result.name, *figures, verdict)


def format_table(report: SloReport) -> str:
    """One row per workflow; the figures are the ones the verdicts compared."""
    rows = [_HEADER, *(_row(w) for w in report.workflows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER) - 1)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:], strict=True)
        ]
        lines.append("  ".join([*cells, row[-1]]))
    return "\n".join(lines)


_TABLE = pytest.StashKey[SloReport]()


def pytest_interlock_report(report: SloReport, run_dir: Path, config: pytest.Config) -> None:
    # printed with the terminal's own summary, after the last test's progress line
    config.stash[_TABLE] = report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_TABLE, None)
    if report is None:
        return
    terminalreporter.write_sep("=", "service-level objectives")
    for line in format_table(report).splitlines():
        terminalreporter.write_line(line)
    for verdict in report.breaches():
        terminalreporter.write_line(
            f"SLO breach: {verdict.workflow}: {verdict.describe()}", red=True
        )
