"""Declared dependencies, readiness gates and what every process says on its health endpoint.

Each kind of WMS process declares what it cannot work without (``DECLARED``); it is
ready only while every one of them answers. The states are probed every second in the
background as well as on each health request, so a dependency that went away and came
back between two requests is still counted (``losses``, ``recoveries``): a restart of
PostgreSQL or Redis shows as a loss and a recovery, not as a crash of the process.

The health document has one shape for every process (the API on ``/health``, the worker
on its own health port)::

    {"status": "ok" | "degraded", "service": "wms-api" | "wms-worker", "version": "0.2.0",
     "ready": bool,
     "process": {"id", "role", "pid", "started_at"},
     "dependencies": {name: {"declared", "status", "latency_ms", "since", "checked_at",
                             "losses", "recoveries", "error"}},
     "configuration": {"applied_version", "applied_at", "error", "active_version",
                       "drift", "cluster": ClusterView | null},
     ...process-specific sections (the API adds "security")}
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from wms import __version__
from wms.coordination.config_agent import ConfigAgent

__all__ = ["DECLARED", "Dependencies", "DependencyState", "health_document"]

#: process role -> the dependencies it may not run without
DECLARED: Mapping[str, tuple[str, ...]] = {
    "api": ("postgres", "redis"),
    "worker": ("postgres", "redis"),
}
#: seconds a probe may take before the dependency counts as down
PROBE_TIMEOUT = 1.0

Status = Literal["unknown", "up", "down"]
Probe = Callable[[], Awaitable[None]]


@dataclass
class DependencyState:
    name: str
    declared: bool = True
    status: Status = "unknown"
    #: the last successful probe's round trip, ms
    latency_ms: float | None = None
    #: when the status last changed
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    checked_at: datetime | None = None
    #: times it went down, and came back up, while this process ran
    losses: int = 0
    recoveries: int = 0
    error: str | None = None

    def observe(self, *, ok: bool, latency_ms: float | None, error: str | None) -> None:
        now = datetime.now(UTC)
        status: Status = "up" if ok else "down"
        if status != self.status:
            if status == "down" and self.status == "up":
                self.losses += 1
            if status == "up" and self.status == "down":
                self.recoveries += 1
            self.status, self.since = status, now
        self.checked_at, self.error = now, error
        if ok:
            self.latency_ms = latency_ms


class Dependencies:
    """The declared dependencies of one process, with their probes and states."""

    def __init__(self, role: str, probes: Mapping[str, Probe]) -> None:
        missing = set(DECLARED[role]) - set(probes)
        if missing:
            raise ValueError(f"no probe for the declared dependencies {sorted(missing)}")
        self.role = role
        self.probes = dict(probes)
        self.states = {
            name: DependencyState(name, declared=name in DECLARED[role]) for name in probes
        }

    @classmethod
    def of(cls, role: str, *, engine: AsyncEngine, redis: Redis) -> Dependencies:
        """The dependencies of a WMS process of ``role`` (``api``, ``worker``)."""

        async def postgres() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def ping() -> None:
            await redis.ping()

        return cls(role, {"postgres": postgres, "redis": ping})

    @property
    def ready(self) -> bool:
        """Every declared dependency answered its last probe."""
        return all(s.status == "up" for s in self.states.values() if s.declared)

    async def check(self) -> int:
        """Probe every dependency at once, each for at most PROBE_TIMEOUT seconds.
        Returns the number that are down (a job for ``wms.loops.every``)."""
        began = time.perf_counter()
        finished: dict[str, float] = {}

        async def timed(name: str, probe: Probe) -> None:
            await probe()
            finished[name] = time.perf_counter()

        tasks = {name: asyncio.ensure_future(timed(name, p)) for name, p in self.probes.items()}
        # asyncio.wait, not wait_for: a frozen server can make even the cancellation of a
        # query hang, and a health check must answer anyway
        await asyncio.wait(tasks.values(), timeout=PROBE_TIMEOUT)
        for name, task in tasks.items():
            state = self.states[name]
            if not task.done():
                task.cancel()
                state.observe(
                    ok=False, latency_ms=None, error=f"no answer within {PROBE_TIMEOUT:g} s"
                )
            elif (exc := task.exception()) is not None:
                state.observe(ok=False, latency_ms=None, error=type(exc).__name__)
            else:
                took = (finished.get(name, time.perf_counter()) - began) * 1000
                state.observe(ok=True, latency_ms=round(took, 2), error=None)
        return sum(1 for s in self.states.values() if s.status == "down")

    async def readiness(self) -> tuple[dict[str, Any], int]:
        """Probe now; the readiness answer and its status (200 ready, 503 not):
        ``{"status": "ok" | "degraded", "checks": {name: "ok" | "down: why"}}``."""
        await self.check()
        checks = {
            name: "ok" if s.status == "up" else f"down: {s.error}"
            for name, s in self.states.items()
        }
        body = {"status": "ok" if self.ready else "degraded", "checks": checks}
        return body, 200 if self.ready else 503

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every dependency's state, JSON-ready (times in ISO 8601)."""
        return {
            name: {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(s).items()}
            for name, s in self.states.items()
        }


async def health_document(
    *,
    deps: Dependencies,
    agent: ConfigAgent,
    started_at: datetime,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The health document of this process (shape in the module docstring), probing its
    dependencies now. ``configuration.cluster`` is null when PostgreSQL cannot be read."""
    await deps.check()
    cluster: dict[str, Any] | None = None
    if deps.states["postgres"].status == "up":
        try:
            cluster = (await agent.store.cluster()).model_dump(mode="json")
        except Exception:
            cluster = None
    active = None if cluster is None else cluster["active_version"]
    return {
        "status": "ok" if deps.ready else "degraded",
        "service": f"wms-{deps.role}",
        "version": __version__,
        "ready": deps.ready,
        "process": {
            "id": agent.process_id,
            "role": deps.role,
            "pid": os.getpid(),
            "started_at": started_at.isoformat(),
        },
        "dependencies": deps.snapshot(),
        "configuration": {
            "applied_version": agent.version,
            "applied_at": agent.applied_at.isoformat(),
            "error": agent.error,
            "active_version": active,
            # this process, or any other live one, runs another version than the active one
            "drift": None if cluster is None else bool(cluster["drifted"]),
            "cluster": cluster,
        },
        **(extra or {}),
    }
