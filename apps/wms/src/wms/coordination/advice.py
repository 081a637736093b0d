"""Recommendations from evidence: missing indexes (EXPLAIN), N+1 patterns, cacheable reads.

A missing index is recommended only when PostgreSQL's own plan for one of the statements
that cost the most time (count x mean) reads a table of at least ``min_table_rows`` rows
(``pg_class.reltuples``) sequentially where an index would spare it: a ``Seq Scan`` with a
``Filter`` expected to keep at most ``max_selectivity`` of the rows, or a ``Seq Scan``
sorted in full under a ``Limit`` (the first rows in some order). The plan node, the
table's size and the statement's timings are the evidence. Only SELECTs
are explained, and never with ANALYZE: asking runs nothing.

A recommendation that needs a migration (an index) is advice: nothing here applies it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from wms.coordination.performance import PerformanceMonitor

__all__ = ["missing_indexes", "recommendations"]

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
            keys = [k.split(".")[-1].removesuffix(" DESC").strip() for k in parent["Sort Key"]]
            yield plan, keys, "top_n"
    for child in plan.get("Plans", ()):
        yield from _scans(child, plan, parent)


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
                found.append(
                    {
                        "kind": "missing_index",
                        "advice": f"index {table} on ({', '.join(columns)})",
                        "needs_migration": True,
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
