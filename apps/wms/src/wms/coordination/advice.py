"""Recommendations from evidence: missing indexes (EXPLAIN), N+1 patterns, cacheable reads.

A missing index is recommended only when PostgreSQL's own plan for one of the statements
that cost the most time (count x mean) reads a table of at least ``min_table_rows`` rows
(``pg_class.reltuples``) sequentially where an index would spare it: a ``Seq Scan`` with a
``Filter`` expected to keep at most ``max_selectivity`` of the rows, or a ``Seq Scan``
sorted in full under a ``Limit`` (the first rows in some order). The plan node, the
table's size and the statement's timings are the evidence. Only SELECTs
are explained, and never with ANALYZE: asking runs nothing.

A recommendation that needs a migration (an index) carries an ``id`` (the name of the
index) and its ``migration`` (the DDL), and is advice until acknowledged: an operator lists
its id in the configuration's ``acknowledged_migrations`` (Stream D: a new version, put,
propagated and kept with its author and reason), and only then does
``apply_recommendation`` run it; before, it refuses (``Conflict``, 409,
``migration_not_acknowledged``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wms.coordination.configuration import ConfigStore
from wms.coordination.orchestrator import COORDINATION_CHANNEL
from wms.coordination.performance import PerformanceMonitor
from wms.errors import Conflict, NotFound
from wms.events import emit

__all__ = ["apply_recommendation", "index_name", "missing_indexes", "recommendations"]

_SORT_KEY = re.compile(r"(?:\w+\.)?(\w+)( DESC)?")
_COLUMN = re.compile(r"\(?\b(\w+)\)?(?:::\w+)?\s*(?:=|<|>|<=|>=|~~|ANY)\s")


_SHOWN = ("Node Type", "Relation Name", "Filter", "Plan Rows", "Total Cost")
_REASONS = {
    "filter": "a sequential scan of a large table keeps a small share of its rows",
    "top_n": "a sequential scan of a large table is sorted in full to return its first rows",
}


def _scans(
    plan: dict[str, Any],
    parent: dict[str, Any] | None = None,
    grandparent: dict[str, Any] | None = None,
) -> Iterator[tuple[dict[str, Any], list[str], str]]:
    """(seq scan node, columns an index would need, why) for each scan an index would
    spare: one with a Filter (the filter's columns), or one sorted in full under a Limit
    (the sort key's columns)."""
    if plan.get("Node Type") == "Seq Scan":
        if "Filter" in plan:
            yield plan, sorted(set(_COLUMN.findall(plan["Filter"]))), "filter"
        elif (
            parent is not None
            and parent.get("Node Type") in ("Sort", "Incremental Sort")
            and grandparent is not None
            and grandparent.get("Node Type") == "Limit"
        ):
            # each key's direction is kept: an index serves a mixed order (created_at DESC,
            # id) only if it is built in that order
            keys = [_SORT_KEY.fullmatch(k.strip()) for k in parent["Sort Key"]]
            if all(keys):  # an expression's order is not served by an index of columns
                yield plan, [m.group(1) + (m.group(2) or "") for m in keys if m], "top_n"
    for child in plan.get("Plans", ()):
        yield from _scans(child, plan, parent)


def index_name(table: str, columns: list[str]) -> str:
    """The advised index's name, which is also its recommendation's id: PostgreSQL's 63
    characters at most (a longer one is cut and told apart by a digest)."""
    name = f"ix_{table}_{'_'.join(columns)}".lower().replace(" desc", "_desc")
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _index_ddl(name: str, table: str, columns: list[str]) -> str:
    """``columns`` as the advice names them: ``created_at`` or ``created_at DESC``."""
    keys = []
    for column in columns:
        bare = column.removesuffix(" DESC")
        keys.append(_quoted(bare) + (" DESC" if bare != column else ""))
    # CONCURRENTLY: the table stays writable while the index is built
    return (
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_quoted(name)} ON {_quoted(table)} "
        f"({', '.join(keys)})"
    )


async def missing_indexes(
    engine: AsyncEngine,
    monitor: PerformanceMonitor,
    *,
    candidates: int = 100,
    min_table_rows: int = 1000,
    max_selectivity: float = 0.1,
) -> list[dict[str, Any]]:
    """Indexes the plans of the ``candidates`` costliest SELECT shapes say are missing.

    Many, not a few: a statement only a few calls old (a table that just grew) is not among
    the costliest yet, and asking PostgreSQL for a plan takes a millisecond."""
    costly = sorted(
        (
            (shape, timings)
            for shape, timings in monitor.queries.items()
            if shape[:6].upper() == "SELECT" and shape in monitor.slowest
        ),
        key=lambda item: -item[1].total_ms,
    )[:candidates]
    found: list[dict[str, Any]] = []
    async with engine.connect() as connection:
        for shape, timings in costly:
            sample = monitor.slowest[shape]
            try:
                result = await connection.exec_driver_sql(
                    "EXPLAIN (FORMAT JSON) " + sample.statement, sample.parameters
                )
                plan = result.scalar_one()[0]["Plan"]
            except Exception:
                await connection.rollback()
                continue  # a statement that cannot be explained alone is no evidence
            for node, columns, why in _scans(plan):
                table = node["Relation Name"]
                rows = await connection.scalar(
                    text("SELECT reltuples::bigint FROM pg_class WHERE relname = :t"),
                    {"t": table},
                )
                rows = int(rows or 0)
                if rows < min_table_rows:
                    continue
                if why == "filter" and node["Plan Rows"] > rows * max_selectivity:
                    continue  # most rows are kept: a sequential read is the right plan
                name = index_name(table, columns)
                found.append(
                    {
                        "kind": "missing_index",
                        "id": name,
                        "advice": f"index {table} on ({', '.join(columns)})",
                        "needs_migration": True,
                        "migration": _index_ddl(name, table, columns),
                        "evidence": {
                            "statement": shape,
                            "endpoint": sample.endpoint,
                            "reason": _REASONS[why],
                            "plan_node": {k: node[k] for k in _SHOWN if k in node},
                            "table_rows": rows,
                            "timings": timings.summary(),
                        },
                    }
                )
        await connection.rollback()
    return found


async def recommendations(engine: AsyncEngine, monitor: PerformanceMonitor) -> list[dict[str, Any]]:
    """Every recommendation, each with its evidence: missing indexes first."""
    return [
        *await missing_indexes(engine, monitor),
        *monitor.n_plus_one_patterns(),
        *monitor.cacheable_reads(),
    ]


async def apply_recommendation(
    recommendation_id: str,
    *,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    monitor: PerformanceMonitor,
    store: ConfigStore,
    by: str,
) -> dict[str, Any]:
    """Run the migration of the recommendation ``recommendation_id``, which the active
    configuration version must acknowledge (``acknowledged_migrations``); announce it
    (``recommendation.applied`` on the coordination channel) and return ``{"id",
    "applied" (the DDL), "acknowledged_in_version", "by"}``.

    Raises NotFound when no recommendation of that id needs a migration now (its evidence
    is gone, or it was applied), Conflict (``migration_not_acknowledged``) before the
    acknowledgement, and what PostgreSQL raises when the migration fails."""
    advised = [r for r in await missing_indexes(engine, monitor) if r["id"] == recommendation_id]
    if not advised:
        raise NotFound(f"no recommendation {recommendation_id} needs a migration now")
    active = await store.active()
    if recommendation_id not in active.document.get("acknowledged_migrations", []):
        raise Conflict(
            f"recommendation {recommendation_id} needs a migration: acknowledge it first, by "
            f"a configuration version whose acknowledged_migrations lists it (active: "
            f"version {active.version})",
            code="migration_not_acknowledged",
        )
    ddl = str(advised[0]["migration"])
    async with engine.connect() as connection:
        # CREATE INDEX CONCURRENTLY refuses to run inside a transaction
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql(ddl)
    applied = {
        "id": recommendation_id,
        "applied": ddl,
        "acknowledged_in_version": active.version,
        "by": by,
    }
    async with sessions() as session, session.begin():
        await emit(session, COORDINATION_CHANNEL, "recommendation.applied", applied)
    return applied
