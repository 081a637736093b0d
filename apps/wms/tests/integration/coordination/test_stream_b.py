"""Stream B, performance and database coordination: timings, advice from evidence, degradation.

The seed's scenarios: performance metrics shared between the database and the service
(per-endpoint and per-statement timings), optimisation recommendations with their
evidence (a missing index read from PostgreSQL's plan, an N+1 pattern, a cacheable read),
and performance degradation coordination (latency injected between WMS and PostgreSQL is
detected, low-priority work is shed, recovery is detected).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from tests.integration.helpers.factories import many_invoices

from interlock.helpers.deadline import poll
from wms.coordination.performance import PerformanceMonitor, RequestTimings
from wms.db.session import make_engine

pytestmark = pytest.mark.workflow


def recommendations(admin: Any) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/coordination/recommendations")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_each_endpoint_and_statement_is_timed(api, slo):
    admin = api.as_role("admin")
    slo.declare("performance_metrics", "p(95)<2000", "rate>=0.95")
    before = admin.get("/api/v1/coordination/timings").json()["endpoints"]
    with slo("performance_metrics"):
        for _ in range(5):
            assert admin.get("/api/v1/plans").status_code == 200
        # every statement: the server's figures count the migrations' too, which cost more
        timings = admin.get("/api/v1/coordination/timings", params={"limit": 5000})
    assert timings.status_code == 200, timings.text
    plans = timings.json()["endpoints"]["GET /api/v1/plans"]
    assert plans["count"] - before.get("GET /api/v1/plans", {}).get("count", 0) == 5
    assert 0 < plans["p50_ms"] <= plans["p95_ms"] <= plans["max_ms"]
    statements = [q["statement"] for q in timings.json()["queries"]]
    assert any("FROM service_plans" in s for s in statements), statements


def test_a_missing_index_is_recommended_from_the_plan_with_its_evidence(api, db, slo):
    admin = api.as_role("admin")
    # enough invoices that listing the newest means sorting them all without an index
    customer_id = many_invoices(admin, db, 20_000)
    try:
        with slo("performance_metrics"):
            for _ in range(3):
                assert admin.get("/api/v1/invoices").status_code == 200
            found = recommendations(admin)
    finally:
        db.query("DELETE FROM invoices WHERE customer_id = %s", (customer_id,))
    index = next(
        (r for r in found if r["kind"] == "missing_index" and "invoices" in r["advice"]), None
    )
    assert index is not None, found
    assert index["advice"].startswith("index invoices on (created_at")
    assert index["needs_migration"] is True
    evidence = index["evidence"]
    assert evidence["plan_node"]["Node Type"] == "Seq Scan"
    assert evidence["plan_node"]["Relation Name"] == "invoices"
    assert evidence["table_rows"] >= 20000
    assert "ORDER BY invoices.created_at DESC" in evidence["statement"]
    assert evidence["timings"]["count"] >= 3


def test_identical_reads_with_no_write_between_are_recommended_for_a_cache(api, slo):
    admin = api.as_role("admin")
    with slo("performance_metrics"):
        for _ in range(12):
            assert admin.get("/api/v1/plans").status_code == 200
        found = recommendations(admin)
    cacheable = [
        r
        for r in found
        if r["kind"] == "cacheable_read" and r["evidence"]["tables"] == ["service_plans"]
    ]
    assert cacheable, found
    evidence = cacheable[0]["evidence"]
    assert evidence["identical_reads"] >= 12
    assert evidence["writes_to_those_tables_since_first_read"] == 0
    assert "GET /api/v1/plans" in evidence["endpoints"]


def test_a_plan_written_between_reads_restarts_the_cache_evidence(api, slo):
    admin = api.as_role("admin")
    for _ in range(10):
        assert admin.get("/api/v1/plans").status_code == 200
    created = admin.post(
        "/api/v1/plans",
        json={
            "name": f"Plan {uuid.uuid4().hex[:8]}",
            "bin_size_litres": 240,
            "frequency": "weekly",
            "price_cents": 1000,
        },
    )
    assert created.status_code == 201, created.text
    assert admin.get("/api/v1/plans").status_code == 200
    found = recommendations(admin)
    assert not [
        r
        for r in found
        if r["kind"] == "cacheable_read" and r["evidence"]["tables"] == ["service_plans"]
    ], found


def test_the_same_statement_repeated_within_one_request_is_an_n_plus_one(stack, slo):
    """WMS's own endpoints load in one query; an endpoint of the test's own, run through
    the same middleware on WMS's engine against the real database, loads row by row."""
    monitor = PerformanceMonitor()
    engine = make_engine(stack.postgres_url)
    monitor.instrument(engine)
    app = FastAPI()

    @app.get("/plans-one-by-one")
    async def one_by_one() -> int:
        async with engine.connect() as connection:
            ids = (await connection.execute(text("SELECT generate_series(1, 8)"))).scalars()
            for plan_id in list(ids):
                await connection.execute(text("SELECT :id AS id"), {"id": plan_id})
        return 8

    async def run() -> str:
        try:
            transport = httpx.ASGITransport(app=RequestTimings(app, monitor=monitor))
            async with httpx.AsyncClient(transport=transport, base_url="http://wms") as client:
                response = await client.get("/plans-one-by-one")
                assert response.status_code == 200
                return response.headers["X-Request-ID"]
        finally:
            await engine.dispose()

    with slo("performance_metrics"):
        request_id = asyncio.run(run())
    patterns = monitor.n_plus_one_patterns()
    assert len(patterns) == 1, patterns
    evidence = patterns[0]["evidence"]
    assert evidence["endpoint"] == "GET /plans-one-by-one"
    assert evidence["statement"] == "SELECT %(id)s AS id"
    assert evidence["executions_in_one_request"] == 8
    assert evidence["request_id"] == request_id


def test_database_latency_is_detected_low_priority_work_shed_and_recovery_announced(
    api, faults, redis, slo
):
    admin = api.as_role("admin")
    slo.declare("degradation_detection", "p(95)<10000", "rate>=0.95")
    assert admin.get("/api/v1/coordination/timings").status_code == 200
    with redis.subscribe("wms.events.performance") as events:
        with faults["postgres"].latency(ms=300), slo("degradation_detection"):
            degraded = events.wait_for(
                lambda e: e["type"] == "performance.degraded", what="performance.degraded"
            )
            shed = poll(
                lambda: (r := admin.get("/api/v1/coordination/timings")).status_code == 503 and r,
                timeout=10,
                what="low-priority work to be shed",
            )
            assert shed.json()["error"]["code"] == "degraded_shed"
            assert shed.headers["Retry-After"]
            # the work that matters is still served, if slowly
            assert admin.get("/api/v1/plans").status_code == 200
        assert degraded["data"]["dependency"] == "postgres"
        assert degraded["data"]["median_probe_ms"] > degraded["data"]["threshold_ms"]
        with slo("degradation_detection"):
            events.wait_for(
                lambda e: e["type"] == "performance.recovered", what="performance.recovered"
            )
            poll(
                lambda: admin.get("/api/v1/coordination/timings").status_code == 200,
                timeout=10,
                what="low-priority work to be served again",
            )
