"""Embedded PostgreSQL: a template build killed half-way leaves nothing that is ever used;
the project's server settings reach the server."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from interlock.config import Config, PostgresConfig, RedisConfig
from interlock.helpers.deadline import poll
from interlock.stack import Stack
from interlock.stack.postgres import cache_root, template_dir, version

BUILD = "import sys; from interlock.stack.postgres import template_dir; template_dir(sys.argv[1])"


@pytest.fixture
def database() -> Iterator[str]:
    """A database name no template exists for yet; its template is removed afterwards."""
    name = f"killed_{secrets.token_hex(4)}"
    yield name
    shutil.rmtree(cache_root() / f"postgres-{version()}" / "templates" / name, ignore_errors=True)


def test_a_template_build_killed_half_way_is_cleaned_and_built_again(database: str) -> None:
    templates = cache_root() / f"postgres-{version()}" / "templates"
    template_dir("app")  # binaries and the templates folder exist: only initdb is left
    before = set(templates.glob(".build-*"))
    builder = subprocess.Popen([sys.executable, "-c", BUILD, database], start_new_session=True)
    try:
        half = poll(
            lambda: next((p for p in templates.glob(".build-*") if p not in before), None),
            timeout=30,
            what="the build to begin",
        )
        poll(lambda: (half / "base").exists() or None, timeout=30, what="initdb to write")
    finally:
        os.killpg(builder.pid, signal.SIGKILL)
        builder.wait()
    assert not (templates / database).exists()  # never renamed into place half-built
    assert half.exists()

    built = template_dir(database)
    assert (built / "PG_VERSION").is_file()
    assert not half.exists()


def test_the_project_s_server_settings_reach_the_embedded_server(tmp_path: Path) -> None:
    config = Config(
        root=tmp_path,
        tests=tmp_path,
        artifacts=tmp_path / "runs",
        postgres=PostgresConfig(
            database="app",
            # one that only a server start can set, and one Interlock sets otherwise
            settings={"shared_preload_libraries": "pg_stat_statements", "max_connections": "37"},
        ),
        redis=RedisConfig(enabled=False),
    )
    with (
        Stack(config, run_dir=tmp_path / "run") as stack,
        psycopg.connect(stack.postgres_url) as conn,
    ):
        shown = [
            conn.execute(f"SHOW {name}").fetchone()
            for name in ("shared_preload_libraries", "max_connections")
        ]
        assert shown == [("pg_stat_statements",), ("37",)]
        conn.execute("CREATE EXTENSION pg_stat_statements")
        assert conn.execute("SELECT count(*) > 0 FROM pg_stat_statements").fetchone() == (True,)
