"""Recommendations from evidence: missing indexes (EXPLAIN), N+1 patterns, cacheable reads.

A missing index is recommended only when PostgreSQL's own plan for one of the statements
that cost the most time (count x mean) reads a large table sequentially to keep a small
share of it: a ``Seq Scan`` with a ``Filter`` on a table of at least ``min_table_rows``
rows (``pg_class.reltuples``) expected to keep at most ``max_selectivity`` of them. The
plan node, the table's size and the statement's timings are the evidence. Only SELECTs
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


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def missing_indexes(
    engine: AsyncEngine,
    monitor: PerformanceMonitor,
    *,
    candidates: int = 10,
    min_table_rows: int = 1000,
    max_selectivity: float = 0.1,
) -> list[dict[str, Any]]:
    """Indexes the plans of the ``candidates`` costliest SELECT shapes say are missing."""
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
            for node in _nodes(plan):
                if node.get("Node Type") != "Seq Scan" or "Filter" not in node:
                    continue
                table = node["Relation Name"]
                rows = await connection.scalar(
                    text("SELECT reltuples::bigint FROM pg_class WHERE relname = :t"),
                    {"t": table},
                )
                rows = int(rows or 0)
                if rows < min_table_rows or node["Plan Rows"] > rows * max_selectivity:
                    continue
                columns = sorted(set(_COLUMN.findall(node["Filter"])))
                found.append(
                    {
                        "kind": "missing_index",
                        "advice": f"index {table} on ({', '.join(columns)})",
                        "needs_migration": True,
                        "evidence": {
                            "statement": shape,
                            "endpoint": sample.endpoint,
                            "plan_node": {
                                k: node[k]
                                for k in (
                                    "Node Type",
                                    "Relation Name",
                                    "Filter",
                                    "Plan Rows",
                                    "Total Cost",
                                )
                                if k in node
                            },
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
