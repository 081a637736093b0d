"""Writers of a run's results, each an implementation of ``pytest_interlock_report``.

    terminal   the SLO table and one line per breach, at the end of the terminal output
    jsonfile   ``slo.json`` in the run folder
    junit      one JUnit test case per workflow (and a stack that failed to start)

A project adds its own writer by implementing the same hook in its conftest.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interlock.report.junit import append_suite
    from interlock.report.terminal import format_table

__all__ = ["append_suite", "format_table"]


def __getattr__(name: str) -> object:
    # imported on first use: the writers import pytest, and a command that only reads the
    # configuration (whose impact weights live in interlock.report.impact) must not pay for it
    if name == "append_suite":
        from interlock.report.junit import append_suite

        return append_suite
    if name == "format_table":
        from interlock.report.terminal import format_table

        return format_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
