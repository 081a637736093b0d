"""Per-endpoint and per-query timings of one API process, and the evidence for advice.

``PerformanceMonitor.instrument(engine)`` hooks SQLAlchemy's cursor events, so every
statement the process sends is timed under its *shape* (the SQL text with its bound
parameters left out, numbered parameters of an IN list folded into one). The ASGI
middleware ``RequestTimings`` times each request under its route (``GET
/api/v1/invoices/{invoice_id}``), gives it a request id (the caller's ``X-Request-ID`` or
a new one, echoed in the answer) and counts the shapes each request ran, which is the
evidence of an N+1 pattern: one statement shape repeated ``n_plus_one_min`` times within
one request. Reads repeated with identical parameters while no write of this process
touched their tables are the evidence for a cache. What needs the database (EXPLAIN of
the slowest statements) is in ``wms.coordination.advice``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wms.coordination.errors import request_scope

__all__ = ["PerformanceMonitor", "RequestTimings", "Sample", "Timings", "shape_of"]

_NUMBERED = re.compile(r"%\((\w+?)_\d+\)s(?:\s*,\s*%\(\1_\d+\)s)*")
_SPACE = re.compile(r"\s+")
_READ_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+\"?(\w+)\"?", re.IGNORECASE)
_WRITTEN_TABLE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.IGNORECASE
)


def shape_of(statement: str) -> str:
    """The statement without what varies between calls of the same code: whitespace, and
    the count of numbered parameters (an IN list of 3 or 30 is one shape)."""
    return _NUMBERED.sub(r"%(\1_N)s", _SPACE.sub(" ", statement).strip())


@dataclass
class Timings:
    """Durations (ms) of one endpoint or statement shape: all counted, the last 1,000 kept."""

    count: int = 0
    total_ms: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=1000))

    def add(self, ms: float) -> None:
        self.count += 1
        self.total_ms += ms
        self.recent.append(ms)

    def summary(self) -> dict[str, float | int]:
        ordered = sorted(self.recent)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

        return {
            "count": self.count,
            "mean_ms": round(self.total_ms / self.count, 2) if self.count else 0.0,
            "p50_ms": pct(0.50) if ordered else 0.0,
            "p95_ms": pct(0.95) if ordered else 0.0,
            "max_ms": round(ordered[-1], 2) if ordered else 0.0,
        }


@dataclass(frozen=True, kw_only=True)
class Sample:
    """The slowest run seen of a statement shape: what EXPLAIN is asked about."""

    statement: str
    parameters: Any
    ms: float
    endpoint: str | None


@dataclass
class _Request:
    endpoint: str
    request_id: str
    shapes: Counter[str] = field(default_factory=Counter)


@dataclass
class _Read:
    count: int = 0
    first_at: float = 0.0
    tables: tuple[str, ...] = ()
    endpoints: set[str] = field(default_factory=set)


_current: ContextVar[_Request | None] = ContextVar("wms_perf_request", default=None)


class PerformanceMonitor:
    """Timings and evidence of one process (see the module's docstring)."""

    def __init__(self, *, n_plus_one_min: int = 5, cache_min_reads: int = 10) -> None:
        self.n_plus_one_min = n_plus_one_min
        self.cache_min_reads = cache_min_reads
        self.endpoints: dict[str, Timings] = {}
        self.queries: dict[str, Timings] = {}
        self.slowest: dict[str, Sample] = {}
        #: (endpoint, shape) -> the worst request seen: {"count", "request_id"}
        self.n_plus_one: dict[tuple[str, str], dict[str, Any]] = {}
        self._reads: dict[tuple[str, str], _Read] = {}
        self._written: dict[str, float] = {}

    # -- statements ------------------------------------------------------------------------
    def instrument(self, engine: AsyncEngine) -> None:
        """Time every statement ``engine`` runs (until the engine is disposed)."""
        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            conn.info.setdefault("wms_began", []).append(time.perf_counter())

        @event.listens_for(sync, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            began = conn.info.get("wms_began")
            if began:
                self.record_statement(
                    statement, parameters, (time.perf_counter() - began.pop()) * 1000
                )

        @event.listens_for(sync, "handle_error")
        def failed(context: Any) -> None:
            began = context.connection.info.get("wms_began") if context.connection else None
            if began:
                began.pop()

    def record_statement(self, statement: str, parameters: Any, ms: float) -> None:
        """Count one statement that took ``ms`` milliseconds."""
        if statement.lstrip()[:7].upper() == "EXPLAIN":
            return  # our own questions about the others
        shape = shape_of(statement)
        self.queries.setdefault(shape, Timings()).add(ms)
        request = _current.get()
        endpoint = request.endpoint if request else None
        worst = self.slowest.get(shape)
        if worst is None or ms > worst.ms:
            self.slowest[shape] = Sample(
                statement=statement, parameters=parameters, ms=ms, endpoint=endpoint
            )
        if request is not None:
            request.shapes[shape] += 1
        written = _WRITTEN_TABLE.match(statement)
        if written:
            self._written[written.group(1).lower()] = time.monotonic()
        elif shape[:6].upper() == "SELECT":
            self._count_read(shape, parameters, endpoint)

    def _count_read(self, shape: str, parameters: Any, endpoint: str | None) -> None:
        key = (shape, json.dumps(parameters, sort_keys=True, default=str))
        read = self._reads.get(key)
        if read is None:
            if len(self._reads) >= 10_000:
                return  # bounded: the evidence of the first 10,000 distinct reads is enough
            tables = tuple(sorted({t.lower() for t in _READ_TABLES.findall(shape)}))
            read = self._reads[key] = _Read(first_at=time.monotonic(), tables=tables)
        elif any(self._written.get(t, 0.0) >= read.first_at for t in read.tables):
            # a table of this read changed: the evidence starts again from here
            read.count, read.first_at, read.endpoints = 0, time.monotonic(), set()
        read.count += 1
        if endpoint:
            read.endpoints.add(endpoint)

    # -- requests --------------------------------------------------------------------------
    def finish_request(self, request: _Request, ms: float) -> None:
        self.endpoints.setdefault(request.endpoint, Timings()).add(ms)
        for shape, count in request.shapes.items():
            if count < self.n_plus_one_min or shape[:6].upper() != "SELECT":
                continue
            key = (request.endpoint, shape)
            if count > self.n_plus_one.get(key, {}).get("count", 0):
                self.n_plus_one[key] = {"count": count, "request_id": request.request_id}

    # -- what it found ---------------------------------------------------------------------
    def cacheable_reads(self) -> list[dict[str, Any]]:
        """Reads repeated with the same parameters, no table of theirs written since the
        first (by this process: writes of others are not seen, which the evidence says)."""
        found = []
        for (shape, parameters), read in self._reads.items():
            if read.count < self.cache_min_reads or not read.tables:
                continue
            if any(self._written.get(t, 0.0) >= read.first_at for t in read.tables):
                continue
            found.append(
                {
                    "kind": "cacheable_read",
                    "advice": f"cache this read of {', '.join(read.tables)}",
                    "evidence": {
                        "statement": shape,
                        "parameters": json.loads(parameters),
                        "identical_reads": read.count,
                        "tables": list(read.tables),
                        "writes_to_those_tables_since_first_read": 0,
                        "writes_seen": "this API process only",
                        "endpoints": sorted(read.endpoints),
                        "timings": self.queries[shape].summary(),
                    },
                }
            )
        return sorted(found, key=lambda r: -int(r["evidence"]["identical_reads"]))

    def n_plus_one_patterns(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": "n_plus_one",
                "advice": f"{endpoint} runs one statement per row: load them in one query",
                "evidence": {
                    "endpoint": endpoint,
                    "statement": shape,
                    "executions_in_one_request": seen["count"],
                    "request_id": seen["request_id"],
                    "timings": self.queries[shape].summary(),
                },
            }
            for (endpoint, shape), seen in self.n_plus_one.items()
        ]

    def timings(self, *, limit: int = 50) -> dict[str, Any]:
        """{"endpoints": {route: summary}, "queries": [{statement, ...summary}]}: the
        ``limit`` statements that took the most time in all, costliest first."""
        queries = [{"statement": s, **t.summary()} for s, t in self.queries.items()]
        queries.sort(key=lambda q: -float(q["count"]) * float(q["mean_ms"]))
        return {
            "endpoints": {name: t.summary() for name, t in sorted(self.endpoints.items())},
            "queries": queries[:limit],
        }


class RequestTimings:
    """ASGI middleware: request ids, per-endpoint timings and per-request statement counts."""

    def __init__(self, app: ASGIApp, *, monitor: PerformanceMonitor) -> None:
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: Mapping[bytes, bytes] = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1").strip()
        # a caller's id is kept only if it is a plain token: it goes into logs and events
        rid = given if re.fullmatch(r"[\w.:-]{1,64}", given) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        request = _Request(endpoint=f"{scope['method']} {scope['path']}", request_id=rid)
        token = _current.set(request)
        began = time.perf_counter()
        try:
            with request_scope(rid):
                await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
            route = getattr(scope.get("route"), "path", None)
            # an unrouted path (a 404 of a scanner) is not an endpoint worth a series
            if route is not None:
                request.endpoint = f"{scope['method']} {route}"
                self.monitor.finish_request(request, (time.perf_counter() - began) * 1000)
