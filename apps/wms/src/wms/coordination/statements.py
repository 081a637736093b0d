"""Per-query timings from PostgreSQL itself (``pg_stat_statements``), when the server keeps them.

The server's figures count every statement of every process on the database (each API
instance, the worker, a migration), timed where it ran, in the server; the SQLAlchemy
events of ``wms.coordination.performance`` see one process's statements, timed from the
client, network included. ``query_timings`` gives the first when the server has them and
says which it gave.

The server keeps them when ``pg_stat_statements`` is preloaded (a server setting:
``shared_preload_libraries``, which WMS's Interlock configuration sets on the embedded
server) and the extension is created in the database (migration 0008 does so when the
server has it preloaded and the role may).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from wms.coordination.performance import PerformanceMonitor

__all__ = ["QuerySource", "query_timings", "server_statements"]

QuerySource = Literal["pg_stat_statements", "sqlalchemy"]

#: SQLSTATE of "pg_stat_statements must be loaded via shared_preload_libraries"
_NOT_PRELOADED = "55000"

_STATEMENTS = text(
    "SELECT query, calls, total_exec_time, mean_exec_time, max_exec_time, stddev_exec_time,"
    " rows FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " ORDER BY total_exec_time DESC LIMIT :limit"
)


async def server_statements(engine: AsyncEngine, *, limit: int = 50) -> list[dict[str, Any]] | None:
    """This database's statements as the server timed them, costliest (total time) first:
    ``{"statement", "count", "total_ms", "mean_ms", "max_ms", "stddev_ms", "rows"}``; None
    when the server keeps no such figures (no extension here, or not preloaded). Raises
    what the database raises otherwise (it is unreachable, the role may not read them)."""
    async with engine.connect() as connection:
        present = await connection.scalar(
            text("SELECT to_regclass('pg_stat_statements') IS NOT NULL")
        )
        if not present:
            return None
        try:
            rows = (await connection.execute(_STATEMENTS, {"limit": limit})).all()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == _NOT_PRELOADED:
                return None  # created in the database, but the server was started without it
            raise
        finally:
            await connection.rollback()
    return [
        {
            "statement": row.query,
            "count": int(row.calls),
            "total_ms": round(float(row.total_exec_time), 3),
            "mean_ms": round(float(row.mean_exec_time), 3),
            "max_ms": round(float(row.max_exec_time), 3),
            "stddev_ms": round(float(row.stddev_exec_time), 3),
            "rows": int(row.rows),
        }
        for row in rows
    ]


async def query_timings(
    engine: AsyncEngine, monitor: PerformanceMonitor, *, limit: int = 50
) -> dict[str, Any]:
    """``monitor.timings()`` (``{"endpoints", "queries"}``, the ``limit`` costliest
    statements) with its queries from the server when it keeps them, and
    ``"queries_source"``: ``pg_stat_statements`` or ``sqlalchemy`` (this process's own,
    see ``PerformanceMonitor``)."""
    timings = monitor.timings(limit=limit)
    server = await server_statements(engine, limit=limit)
    source: QuerySource = "sqlalchemy" if server is None else "pg_stat_statements"
    if server is not None:
        timings["queries"] = server
    return {**timings, "queries_source": source}
