"""The terminal dashboard draws the same grid and alerts as the web one."""

from __future__ import annotations

from pathlib import Path

from interlock.monitor.config import parse_monitor_config
from interlock.monitor.probes import Sample
from interlock.monitor.runner import Monitor
from interlock.monitor.snapshot import snapshot
from interlock.monitor.tui import render_screen
from interlock.monitor.windows import breaches


def test_screen_lists_every_probe_with_its_status_and_open_alerts() -> None:
    config = parse_monitor_config(
        Path("/p"),
        {
            "probes": {
                "db": {"type": "tcp", "address": "127.0.0.1:1"},
                "app": {"type": "http", "url": "http://h/", "depends_on": ["db"]},
            }
        },
    )
    monitor = Monitor(config)
    monitor.probes["db"].apply(Sample("db", 1, False, 2, "ConnectionRefusedError"))
    monitor.probes["app"].apply(Sample("app", 1, True, 12))
    views = {name: state.view() for name, state in monitor.probes.items()}
    monitor.engine.evaluate(2, breaches(2, config, monitor.probes.values(), []), views)
    screen = render_screen(snapshot(monitor), colour=False)
    lines = screen.splitlines()
    db = next(line for line in lines if line.strip().startswith("db "))
    app = next(line for line in lines if line.strip().startswith("app "))
    assert "down" in db
    assert "ConnectionRefusedError" in db
    assert "up" in app
    assert "12" in app
    assert any(line.split()[:2] == ["firing", "down:db"] for line in lines), screen
