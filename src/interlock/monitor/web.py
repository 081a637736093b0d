"""The monitor's HTTP server: the live dashboard, its pushed updates, the API and /metrics.

GET /              the dashboard (static files shipped in the package; no CDN)
GET /static/NAME   its script and style sheet
GET /api/state     the snapshot (see interlock.monitor.snapshot)
GET /events        Server-Sent Events: a ``state`` event with the snapshot on connect
                   and after every change; ``stopped`` when the monitor stops
GET /metrics       Prometheus text format
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from types import TracebackType
from typing import Any, final

from aiohttp import web

from interlock.aio import AppServer
from interlock.errors import DependencyError
from interlock.monitor.metrics import CONTENT_TYPE, exposition
from interlock.monitor.runner import Monitor
from interlock.monitor.snapshot import snapshot

__all__ = ["DashboardServer"]

_STATIC = {
    "index.html": "text/html",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}


@final
class DashboardServer:
    """``async with DashboardServer(monitor, host, port) as server: server.url``.

    Raises DependencyError when the address cannot be bound (port taken, bad host).
    """

    def __init__(self, monitor: Monitor, host: str = "127.0.0.1", port: int = 0) -> None:
        self.monitor = monitor
        self.host = host
        self.port = port
        self.url = ""
        self._server: AppServer | None = None
        self._clients: set[asyncio.Event] = set()
        self._stopped = False
        monitor.listeners.append(self._changed)

    async def __aenter__(self) -> DashboardServer:
        if self._server is not None:
            raise RuntimeError("the dashboard server is already running")
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/events", self._events)
        app.router.add_get("/metrics", self._metrics)
        server = AppServer(app, host=self.host, port=self.port, shutdown_timeout=0.2)
        try:
            await server.start()
        except OSError as exc:
            raise DependencyError(
                f"cannot serve the dashboard on {self.host}:{self.port}: {exc.strerror or exc}",
                hint="choose another --port, or 0 for any free one",
            ) from None
        self._server = server
        self.port = server.port
        self.url = server.url + "/"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped = True
        for client in self._clients:
            client.set()
        if self._server is not None:
            await self._server.stop()

    def _changed(self, kind: str, payload: Any) -> None:
        if kind == "stopped":
            self._stopped = True
        for client in self._clients:
            client.set()

    async def _index(self, request: web.Request) -> web.Response:
        return self._file("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        return self._file(name)

    def _file(self, name: str) -> web.Response:
        text = resources.files("interlock.monitor").joinpath("static", name).read_text("utf-8")
        return web.Response(text=text, content_type=_STATIC[name], charset="utf-8")

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(snapshot(self.monitor))

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=exposition(self.monitor), headers={"Content-Type": CONTENT_TYPE})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        changed = asyncio.Event()
        self._clients.add(changed)
        try:
            while True:
                # one snapshot per wake-up: a burst of changes is sent once
                changed.clear()
                if self._stopped:
                    await response.write(b"event: stopped\ndata: {}\n\n")
                    break
                data = json.dumps(snapshot(self.monitor))
                await response.write(f"event: state\ndata: {data}\n\n".encode())
                await changed.wait()
        except ConnectionResetError:  # the browser went away
            pass
        finally:
            self._clients.discard(changed)
        return response
