"""What a failing test leaves for its reader: the log lines and simulator calls of its time.

When a test starts, the size of every process log of this process's stack is noted;
when one of its phases fails, what each log gained since then (its last lines) and the
simulator calls received since the test began are attached to the test's report as
sections ``interlock log: <file>`` and ``interlock simulator: <name>``. Sections travel
with the report across xdist, and the HTML report shows them under the failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any, Final, final

import httpx
import pytest

from interlock.plugin.run import RunContext, run_context
from interlock.tls import shared_tls

__all__ = ["LOG_SECTION", "SIM_SECTION", "Evidence", "log_excerpts"]

LOG_SECTION: Final = "interlock log: "
SIM_SECTION: Final = "interlock simulator: "
#: lines kept from the end of each log's excerpt, and simulator calls kept per simulator
MAX_LINES: Final = 40
MAX_CALLS: Final = 20
_MAX_BYTES: Final = 256 * 1024


def log_excerpts(log_dir: Path, offsets: dict[str, int]) -> dict[str, str]:
    """What each ``*.log`` in ``log_dir`` gained past ``offsets`` (name -> bytes), last lines."""
    excerpts: dict[str, str] = {}
    if not log_dir.is_dir():
        return excerpts
    for path in sorted(log_dir.glob("*.log")):
        start = offsets.get(path.name, 0)
        try:
            with path.open("rb") as handle:
                size = handle.seek(0, 2)
                if size <= start:
                    continue
                # a log that grew by megabytes: its end is what matters
                handle.seek(max(start, size - _MAX_BYTES))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            continue
        lines = text.splitlines()[-MAX_LINES:]
        if lines:
            excerpts[path.name] = "\n".join(lines)
    return excerpts


def _log_sizes(log_dir: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    if log_dir.is_dir():
        for path in log_dir.glob("*.log"):
            try:
                sizes[path.name] = path.stat().st_size
            except OSError:
                continue
    return sizes


def _journal(http: httpx.Client, url: str) -> list[Any] | None:
    try:
        entries = http.get(f"{url}/__interlock/journal").json()
    except Exception:  # evidence is best effort: it must never mask the test's own failure
        return None
    return entries if isinstance(entries, list) else None


def _simulator_calls(simulators: dict[str, str], since: float) -> dict[str, str]:
    """Calls each simulator received since ``since`` (epoch s), one line each."""
    calls: dict[str, str] = {}
    with httpx.Client(timeout=2.0, verify=shared_tls()) as http:
        journals = {name: _journal(http, url) for name, url in sorted(simulators.items())}
    for name, entries in journals.items():
        if entries is None:
            calls[name] = "(the simulator did not answer: its journal is unknown)"
            continue
        recent = [e for e in entries if isinstance(e, dict) and e.get("time", 0) >= since]
        lines = [
            f"{e.get('method')} {e.get('path')} -> {e.get('status')}"
            + (f" (fault: {json.dumps(e['fault'])})" if e.get("fault") else "")
            for e in recent[-MAX_CALLS:]
        ]
        if lines:
            calls[name] = "\n".join(lines)
    return calls


@final
class Evidence:
    """Notes each test's start; attaches logs and simulator calls to a failed phase."""

    NAME = "interlock-evidence"

    def __init__(self, run: RunContext) -> None:
        self.log_dir = run.stack_dir / "logs"
        self._sizes: dict[str, int] = {}
        self._began = 0.0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._sizes = _log_sizes(self.log_dir)
        self._began = time.time()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed:
            for name, text in log_excerpts(self.log_dir, self._sizes).items():
                report.sections.append((LOG_SECTION + name, text))
            stack: Any = getattr(item, "funcargs", {}).get("stack")
            simulators = getattr(stack, "simulators", None)
            if isinstance(simulators, dict) and simulators:
                for name, text in _simulator_calls(simulators, self._began).items():
                    report.sections.append((SIM_SECTION + name, text))
        return report


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Evidence(run_context(config)), Evidence.NAME)
