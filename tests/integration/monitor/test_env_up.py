"""Acceptance: ``interlock env up`` and the monitor with no configuration of its own.

Every probe turns green; taking PostgreSQL's fault proxy down turns PostgreSQL red,
raises one alert for it and suppresses the app's (which depends on it); bringing it
back resolves both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.monitor.support import MonitorProcess, jsonl

from interlock.helpers.deadline import poll

#: a system under test whose readiness is a real query through the fault proxy
APP = """
import asyncio, os, sys
import psycopg
from aiohttp import web

async def ready(request):
    try:
        url = os.environ["APP_DATABASE_URL"]
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:
        return web.json_response({"database": str(exc)}, status=503)
    return web.json_response({"database": "ok"})

app = web.Application()
app.router.add_get("/health/ready", ready)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""

PROJECT = """
[tool.interlock]
simulators = ["stripe"]
[tool.interlock.app]
command = ["{python}", "app.py", "{port}"]
health = "/health/ready"
[tool.interlock.env]
APP_DATABASE_URL = "{postgres_url}"
"""


@pytest.fixture
def env_up(tmp_path: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    (tmp_path / "pyproject.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", "--project", str(tmp_path), "env", "up", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "INTERLOCK_ARTIFACTS": str(tmp_path / "runs")},
    ) as process:
        try:
            assert process.stdout is not None
            info = json.loads(process.stdout.readline())
            yield tmp_path, info
        finally:
            process.terminate()
            process.wait(timeout=30)
            process.stdout.close()  # type: ignore[union-attr]


def test_faults_down_postgres_alerts_once_and_suppresses_the_app(
    env_up: tuple[Path, dict[str, object]],
) -> None:
    project, info = env_up
    faults = str(info["faults"])
    with MonitorProcess(project, "--interval", "0.3") as monitor:
        names = {p["name"] for p in monitor.state()["probes"]}
        assert names == {"postgres", "redis", "app", "stripe"}
        for name in names:
            monitor.wait_status(name, "up", timeout=30)

        httpx.post(f"{faults}/proxies/postgres", json={"enabled": False}, timeout=5)
        monitor.wait_status("postgres", "down")
        monitor.wait_status("app", "down")
        poll(
            lambda: (
                {a["key"]: a["state"] for a in monitor.state()["alerts"]["open"]}.get("down:app")
                == "suppressed"
            ),
            timeout=10,
            what="the app's alert suppressed",
        )
        assert monitor.state()["faults"] == [{"proxy": "postgres", "fault": "down"}]

        httpx.post(f"{faults}/proxies/postgres", json={"enabled": True}, timeout=5)
        monitor.wait_status("postgres", "up")
        monitor.wait_status("app", "up", timeout=30)
        poll(
            lambda: (
                not any(
                    a["subject"] in ("postgres", "app") for a in monitor.state()["alerts"]["open"]
                )
            ),
            timeout=10,
            what="both alerts closed",
        )
        assert monitor.stop() == 0
    notices = [
        (entry["event"], entry["alert"]["key"])
        for entry in jsonl(project / ".interlock/monitor/alerts.jsonl")
        if entry["alert"]["subject"] in ("postgres", "app")
    ]
    assert notices == [("firing", "down:postgres"), ("resolved", "down:postgres")]
