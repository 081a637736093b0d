"""Graceful shutdown: every sample taken is stored, open alerts end as "monitor stopped"."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from tests.integration.monitor.support import MonitorProcess, Target, history_rows, write_project

from interlock.helpers.deadline import poll


def _project(tmp_path: Path, target: Target) -> Path:
    return write_project(
        tmp_path,
        f"""interval = 0.05
[tool.interlock.monitor.probes.web]
type = "http"
url = "{target.url}/health/web"
conditions = ["[STATUS] == 200", '$.status == "ok"']
[tool.interlock.monitor.probes.broken]
type = "http"
url = "{target.url}/health/broken"
""",
    )


def test_sigterm_stores_every_sample_taken_and_exits_0(tmp_path: Path, target: Target) -> None:
    target.failing["broken"] = True
    project = _project(tmp_path, target)
    with MonitorProcess(project) as monitor:
        poll(lambda: target.hits.get("web", 0) >= 20, timeout=30, what="20 checks of web")
        monitor.wait_status("broken", "down")
        sent = time.monotonic()
        code = monitor.stop(signal.SIGTERM)
        took = time.monotonic() - sent
    assert code == 0, "\n".join(monitor.lines)
    assert took < 2.0  # the promise made to users, measured from the signal to the exit
    db = project / ".interlock/monitor/history.db"
    stored = dict(history_rows(db, "SELECT probe, COUNT(*) FROM monitor_samples GROUP BY probe"))
    # every check the target answered is a row: none lost in flight or in a buffer
    assert stored == {"web": target.hits["web"], "broken": target.hits["broken"]}
    taken = sum(stored.values())
    assert f"monitor stopped: {taken} samples taken, {taken} stored" in monitor.lines
    alerts = history_rows(db, "SELECT key, state, end_reason FROM monitor_alerts")
    assert ("down:broken", "stopped", "monitor stopped") in alerts
    assert {(state, reason) for _, state, reason in alerts} == {("stopped", "monitor stopped")}
    assert any(line.startswith("ALERT stopped  down:broken") for line in monitor.lines)


def test_after_sigkill_at_most_the_check_in_flight_is_lost(tmp_path: Path, target: Target) -> None:
    project = _project(tmp_path, target)
    with MonitorProcess(project) as monitor:
        poll(lambda: target.hits.get("web", 0) >= 20, timeout=30, what="20 checks of web")
        monitor.stop(signal.SIGKILL)
    db = project / ".interlock/monitor/history.db"
    stored = dict(history_rows(db, "SELECT probe, COUNT(*) FROM monitor_samples GROUP BY probe"))
    for probe in ("web", "broken"):
        assert target.hits[probe] - 1 <= stored[probe] <= target.hits[probe]


def test_a_check_hanging_at_sigterm_does_not_delay_the_exit(tmp_path: Path, target: Target) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel and never answered
        port = silent.getsockname()[1]
        project = write_project(
            tmp_path,
            f"""interval = 0.05
[tool.interlock.monitor.probes.web]
type = "http"
url = "{target.url}/health/web"
[tool.interlock.monitor.probes.silent]
type = "http"
url = "http://127.0.0.1:{port}/"
timeout = 30
""",
        )
        with MonitorProcess(project) as monitor:
            poll(lambda: target.hits.get("web", 0) >= 10, timeout=30, what="10 checks of web")
            sent = time.monotonic()
            code = monitor.stop(signal.SIGTERM)
            took = time.monotonic() - sent
    assert code == 0, "\n".join(monitor.lines)
    assert took < 2.0  # the check of "silent" is still waiting for its 30 s timeout
    db = project / ".interlock/monitor/history.db"
    stored = dict(history_rows(db, "SELECT probe, COUNT(*) FROM monitor_samples GROUP BY probe"))
    assert stored == {"web": target.hits["web"]}  # the unanswered check is no sample
