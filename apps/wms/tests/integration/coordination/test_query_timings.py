"""Stream B's per-query timings: PostgreSQL's own (``pg_stat_statements``) when the server
keeps them, the API process's SQLAlchemy timings otherwise, and the answer says which."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from interlock.config import Config, PostgresConfig, RedisConfig
from interlock.stack import Stack
from wms.coordination.performance import PerformanceMonitor
from wms.coordination.statements import query_timings, server_statements
from wms.db.session import make_engine, migrate

pytestmark = pytest.mark.workflow


def with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def timed_here(url: str, probe: str) -> dict[str, Any]:
    """``query_timings`` of a process that ran ``probe`` on ``url`` (its own engine)."""

    async def run() -> dict[str, Any]:
        engine = make_engine(url)
        monitor = PerformanceMonitor()
        monitor.instrument(engine)
        try:
            async with engine.connect() as connection:
                await connection.execute(text(probe))
            return await query_timings(engine, monitor)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_per_query_timings_are_the_server_s_when_it_keeps_them(api, db, slo):
    assert db.one("SHOW shared_preload_libraries") == {
        "shared_preload_libraries": "pg_stat_statements"
    }
    alias = f"probe_{secrets.token_hex(4)}"
    with slo("performance_metrics"):
        db.query("SELECT pg_stat_statements_reset()")
        # run by this test's own connection, never by the API: only the server saw it
        db.query(f"SELECT count(*) AS {alias} FROM service_plans WHERE price_cents > %s", (0,))
        timings = api.as_role("admin").get("/api/v1/coordination/timings")
    assert timings.status_code == 200, timings.text
    assert timings.json()["queries_source"] == "pg_stat_statements"
    probes = [q for q in timings.json()["queries"] if alias in q["statement"]]
    assert len(probes) == 1, timings.json()["queries"]
    # normalised by the server: the constant is a parameter
    assert "price_cents > $1" in probes[0]["statement"]
    assert probes[0]["count"] == 1
    assert probes[0]["mean_ms"] >= 0


@pytest.fixture
def bare_database(db: Any) -> Iterator[str]:
    """A database on the same server without the extension (its name is ours alone)."""
    name = f"wms_bare_{secrets.token_hex(6)}"
    db.query(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        db.query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_without_the_extension_in_the_database_the_timings_are_sqlalchemy_s(stack, bare_database):
    timings = timed_here(with_database(stack.postgres_url, bare_database), "SELECT 41 AS bare")
    assert timings["queries_source"] == "sqlalchemy"
    assert [q["count"] for q in timings["queries"] if "41 AS bare" in q["statement"]] == [1]


@pytest.fixture
def unprepared_server(tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL server of its own, started without pg_stat_statements preloaded."""
    config = Config(
        root=tmp_path,
        tests=tmp_path,
        artifacts=tmp_path / "runs",
        postgres=PostgresConfig(database="wms_unprepared"),
        redis=RedisConfig(enabled=False),
    )
    with Stack(config, run_dir=tmp_path / "run") as stack:
        assert stack.postgres_url is not None
        yield stack.postgres_url


def test_a_server_without_the_library_migrates_and_falls_back_to_sqlalchemy(unprepared_server):
    # WMS's migrations leave the extension out on such a server, and do not fail
    migrate(unprepared_server)

    async def extension_and_statements() -> tuple[int, list[dict[str, Any]] | None]:
        engine = make_engine(unprepared_server)
        try:
            async with engine.begin() as connection:
                found = await connection.scalar(
                    text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
                )
                # created by hand all the same: its view refuses to be read
                await connection.execute(text("CREATE EXTENSION pg_stat_statements"))
            return int(found or 0), await server_statements(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(extension_and_statements()) == (0, None)
    timings = timed_here(unprepared_server, "SELECT 43 AS unprepared")
    assert timings["queries_source"] == "sqlalchemy"
    assert [q["count"] for q in timings["queries"] if "43 AS unprepared" in q["statement"]] == [1]
