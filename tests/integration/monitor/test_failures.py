"""The monitor never stops watching quietly: a dead loop ends the run with its error."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from tests.integration.monitor.support import Target, write_project

from interlock.errors import DependencyError
from interlock.monitor.cli import main
from interlock.monitor.config import MonitorConfig, parse_monitor_config
from interlock.monitor.runner import Monitor


def _config(tmp_path: Path, target: Target) -> MonitorConfig:
    return parse_monitor_config(
        tmp_path,
        {
            "interval": 0.05,
            "thresholds": {"cpu": 100, "memory": 100},
            "probes": {"web": {"type": "http", "url": f"{target.url}/health/web"}},
        },
    )


def test_history_that_cannot_be_written_ends_the_run_with_its_error(
    tmp_path: Path, target: Target
) -> None:
    target.failing["web"] = True  # an open alert, to be ended at the stop
    monitor = Monitor(_config(tmp_path, target))

    async def scenario() -> None:
        stop, three = asyncio.Event(), asyncio.Event()
        monitor.listeners.append(lambda kind, _: monitor.stored >= 3 and three.set())
        run = asyncio.create_task(monitor.run(stop))
        await asyncio.wait_for(three.wait(), timeout=10)
        assert monitor.history is not None
        monitor.history.db.close()  # the disk is gone, as far as the monitor can tell
        await asyncio.wait_for(run, timeout=10)

    stopped: list[str] = []
    monitor.listeners.append(lambda kind, _: kind == "stopped" and stopped.append(kind))
    with pytest.raises(Exception, match="closed database"):
        asyncio.run(scenario())
    assert monitor.taken == monitor.stored + 1  # the check that could not be stored
    assert stopped == ["stopped"]  # the dashboards were told, despite the broken history


def test_taken_port_is_one_line_and_exit_2(
    tmp_path: Path, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(
        tmp_path,
        f'[tool.interlock.monitor.probes.web]\ntype = "http"\nurl = "{target.url}/health/web"\n',
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--project", str(tmp_path), "--port", str(port), "--duration", "5s"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"interlock monitor: error: cannot serve the dashboard on 127.0.0.1:{port}"
    )
    assert err.count("\n") == 1


def test_history_in_a_folder_that_cannot_exist_is_a_dependency_error(
    tmp_path: Path, target: Target
) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    config = parse_monitor_config(
        tmp_path,
        {
            "history": "file/history.db",
            "probes": {"web": {"type": "http", "url": f"{target.url}/health/web"}},
        },
    )
    with pytest.raises(DependencyError, match=r"history .* cannot be opened"):
        asyncio.run(Monitor(config).run(asyncio.Event()))
