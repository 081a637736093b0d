"""Probes: one check of one target, turned into a Sample whatever the target answers.

``await check(spec, session)`` never raises for anything the target does (refuses, hangs,
answers garbage): that is a failed sample with the reason in ``error``. Only
cancellation passes through.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import psycopg
import redis.asyncio as aioredis

from interlock.monitor.conditions import Answer, extract
from interlock.monitor.config import ProbeSpec

__all__ = ["Sample", "check"]


@dataclass(frozen=True, slots=True)
class Sample:
    """The result of one check."""

    probe: str
    #: when the check started, Unix seconds
    at: float
    ok: bool
    #: how long the check took, ms
    latency_ms: float
    error: str | None = None
    #: numbers read from the answer (``metrics`` of the probe), by name
    metrics: Mapping[str, float] = field(default_factory=dict)


class _Failed(Exception):
    """The target answered, but not as required."""


Outcome = dict[str, float]


async def _http(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    async with session.request(
        spec.method, spec.target, headers=dict(spec.headers), allow_redirects=False
    ) as response:
        raw = await response.read()
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        body = json.loads(raw) if raw else None
        answer = Answer(status=response.status, response_ms=elapsed_ms, body=body)
    except ValueError:
        answer = Answer(status=response.status, response_ms=elapsed_ms)
    metrics = _metrics(spec, answer)
    conditions = spec.conditions
    if not conditions:
        if response.status >= 400:
            raise _Failed(f"HTTP {response.status}")
        return metrics
    failures = [why for condition in conditions if (why := condition.check(answer)) is not None]
    if failures:
        raise _Failed("; ".join(failures))
    return metrics


def _metrics(spec: ProbeSpec, answer: Answer) -> Outcome:
    """Numbers the configuration maps from the body; absent or non-numbers are skipped."""
    out: Outcome = {}
    for name, path in spec.metrics.items():
        value = extract(answer.body, path) if isinstance(answer.body, dict | list) else None
        if isinstance(value, bool | int | float):
            out[name] = float(value)
    return out


async def _simulator(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    url = spec.target.rstrip("/") + "/__interlock/health"
    async with session.get(url, allow_redirects=False) as response:
        await response.read()
        if response.status != 200:
            raise _Failed(f"HTTP {response.status} from {url}")
    return {}


async def _tcp(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    host, _, port = spec.target.rpartition(":")
    _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    writer.close()
    await writer.wait_closed()
    return {}


async def _postgres(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    # a fresh connection each time: a pooled one would hide that new ones are refused
    async with await psycopg.AsyncConnection.connect(
        spec.target, connect_timeout=max(1, int(spec.timeout)), autocommit=True
    ) as conn:
        await conn.execute(spec.query.encode())
    return {}


async def _redis(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    client = aioredis.from_url(spec.target, socket_timeout=spec.timeout)
    try:
        if not await client.ping():
            raise _Failed("PING was not answered with PONG")
    finally:
        await client.aclose()
    return {}


async def _websocket(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    url = spec.target
    scheme = urlsplit(url).scheme
    if scheme in ("ws", "wss"):
        url = url.replace(scheme, "http" if scheme == "ws" else "https", 1)
    async with session.ws_connect(url, headers=dict(spec.headers)):
        pass
    return {}


async def _synthetic(spec: ProbeSpec, session: aiohttp.ClientSession, started: float) -> Outcome:
    assert spec.function is not None
    await spec.function(session)
    return {}


_KINDS: dict[str, Callable[[ProbeSpec, aiohttp.ClientSession, float], Awaitable[Outcome]]] = {
    "http": _http,
    "simulator": _simulator,
    "tcp": _tcp,
    "postgres": _postgres,
    "redis": _redis,
    "websocket": _websocket,
    "synthetic": _synthetic,
}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, _Failed):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def check(spec: ProbeSpec, session: aiohttp.ClientSession) -> Sample:
    """Run ``spec`` once, within its timeout; see the module docstring."""
    at = time.time()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(spec.timeout):
            metrics = await _KINDS[spec.kind](spec, session, started)
    except TimeoutError:
        latency = (time.perf_counter() - started) * 1000
        return Sample(spec.name, at, False, latency, f"timed out after {spec.timeout:g} s")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # whatever the target does is a red sample, never a crash
        latency = (time.perf_counter() - started) * 1000
        return Sample(spec.name, at, False, latency, _reason(exc)[:300])
    latency = (time.perf_counter() - started) * 1000
    return Sample(spec.name, at, True, latency, None, metrics)
