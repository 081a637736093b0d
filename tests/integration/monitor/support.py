"""A real local server for the monitor to watch, and the monitor run as users run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from interlock.aio import LoopThread
from interlock.helpers.deadline import poll


class Target:
    """An HTTP server whose answers a test switches: ``target.failing["db"] = True``.

    ``GET /health/NAME`` answers 200 ``{"status": "ok", "backlog": 3}`` or 503 while
    failing; ``POST /hook`` records webhook notices; ``hits[NAME]`` counts checks received.
    """

    def __init__(self) -> None:
        self.failing: dict[str, bool] = {}
        #: fail only the next N checks of a name
        self.fail_next: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self.hooks: list[dict[str, Any]] = []
        self.url = ""
        self._lock = threading.Lock()

    async def _health(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self._lock:
            self.hits[name] = self.hits.get(name, 0) + 1
            countdown = self.fail_next.get(name, 0)
            if countdown:
                self.fail_next[name] = countdown - 1
        if self.failing.get(name) or countdown:
            return web.json_response({"status": "down"}, status=503)
        return web.json_response({"status": "ok", "backlog": 3})

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.hooks.append(body)
        return web.json_response({})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/health/{name}", self._health)
        app.router.add_post("/hook", self._hook)
        app.router.add_get("/ws", self._ws)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return runner

    def notices(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(hook["event"], hook["alert"]["key"]) for hook in self.hooks]


@contextmanager
def serve_target() -> Iterator[Target]:
    server = Target()
    with LoopThread("monitor-target") as thread:
        runner = thread.run(server.start())
        try:
            yield server
        finally:
            thread.run(runner.cleanup())


def write_project(root: Path, monitor: str) -> Path:
    """A project folder whose pyproject.toml holds ``monitor`` (TOML) and quiet defaults."""
    (root / "pyproject.toml").write_text(
        "[tool.interlock.monitor]\n"
        # this machine is shared: its load is not what these tests watch
        "thresholds = { cpu = 100, memory = 100 }\n" + monitor,
        encoding="utf-8",
    )
    return root


class MonitorProcess:
    """``python -m interlock.monitor`` in its own process, its addresses read from stdout."""

    def __init__(self, project: Path, *args: str) -> None:
        self.project = project
        self.args = args
        self.url = ""
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> MonitorProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "interlock.monitor", "--project", str(self.project), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("dashboard"):
                self.url = line.split()[1]
                break
        if not self.url:
            self.proc.wait(timeout=10)
            raise AssertionError("monitor did not start:\n" + "\n".join(self.lines))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.url + "api/state", timeout=5).json()
        return result

    def probe(self, name: str) -> dict[str, Any]:
        return next(p for p in self.state()["probes"] if p["name"] == name)

    def wait_status(self, name: str, status: str, timeout: float = 10) -> None:
        poll(
            lambda: self.probe(name)["status"] == status,
            timeout=timeout,
            what=f"{name} {status}",
        )

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=timeout)

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def history_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    import sqlite3

    connection = sqlite3.connect(db)
    try:
        return list(connection.execute(sql))
    finally:
        connection.close()


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
