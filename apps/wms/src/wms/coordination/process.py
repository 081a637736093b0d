"""The coordination parts of one WMS process, built into its composition root.

``open_coordination`` gives a process its declared dependencies (probed every second),
its configuration agent (the active version applied before the process serves, then
kept in step), and, for a process without an HTTP server of its own (the worker), a
small health server on ``WMS_WORKER_HEALTH_PORT`` answering ``/health/live``,
``/health/ready`` and ``/health`` with the document of ``wms.coordination.dependencies``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wms.coordination.config_agent import ConfigAgent
from wms.coordination.configuration import ConfigStore
from wms.coordination.dependencies import Dependencies, health_document
from wms.coordination.security_stream import (
    SecurityRedisHealth,
    Subscriber,
    report_refused_keys,
)
from wms.loops import every, start
from wms.settings import Settings

__all__ = ["Coordination", "open_coordination"]

log = logging.getLogger("wms.coordination")


@dataclass(kw_only=True)
class Coordination:
    role: str
    deps: Dependencies
    store: ConfigStore
    agent: ConfigAgent
    security: SecurityRedisHealth
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def watch_hub(self, hub: Subscriber) -> None:
        """Report the WebSocket hub's subscription in the security section."""
        self.security.hub = hub

    async def health(self) -> dict[str, Any]:
        """This process's health document (probes its dependencies now)."""
        extra: dict[str, Any] = {}
        document = await health_document(
            deps=self.deps, agent=self.agent, started_at=self.started_at
        )
        if self.role == "api":
            extra["security"] = await self.security.section()
        return {**document, **extra}


async def open_coordination(
    stack: AsyncExitStack,
    settings: Settings,
    *,
    role: str,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> Coordination:
    """Build and start the coordination of a process of ``role``; ``stack`` undoes it."""
    deps = Dependencies.of(role, engine=engine, redis=redis)
    store = ConfigStore(
        sessions, redis, stale_after_seconds=max(5.0, 3 * settings.config_recheck_seconds)
    )
    agent = ConfigAgent(store, role=role, recheck_seconds=settings.config_recheck_seconds)
    coordination = Coordination(
        role=role,
        deps=deps,
        store=store,
        agent=agent,
        security=SecurityRedisHealth(deps, sessions),
    )
    await deps.check()
    # a process serves with the configuration in force, never with the defaults by accident;
    # without PostgreSQL it cannot know it, and starts on the defaults (version 0, which
    # its health shows as drift) until the re-check reaches the database
    try:
        await agent.sync()
    except Exception as exc:
        log.warning("configuration not loaded at start, on the defaults until then: %s", exc)
    stack.push_async_callback(agent.withdraw)
    stop = asyncio.Event()
    loops = [
        every("dependencies", 1.0, deps.check, stop),
        *agent.loops(stop),
        # both kinds of process call the providers, so both report the keys refused
        every("refused keys", 0.5, report_refused_keys(sessions, redis), stop),
    ]
    if role == "worker" and settings.worker_health_port:
        loops.append(_serve(_health_app(coordination), settings.worker_health_port))
    await start(stack, *loops)
    return coordination


def _health_app(coordination: Coordination) -> FastAPI:
    app = FastAPI(title="WMS worker health", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        body, status = await coordination.deps.readiness()
        return JSONResponse(body, status_code=status)

    @app.get("/health")
    async def health() -> JSONResponse:
        document = await coordination.health()
        return JSONResponse(document, status_code=200 if document["ready"] else 503)

    return app


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside a process that owns its signals: the worker stops on its
    own SIGTERM handler, and this server stops when its task is cancelled."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(app: FastAPI, port: int) -> None:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = _EmbeddedServer(config)
    try:
        await server.serve()
    finally:
        server.should_exit = True
