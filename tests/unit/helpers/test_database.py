"""The db helper on a real PostgreSQL: a dropped connection is replaced, a closed helper refuses."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from interlock.config import Config, PostgresConfig
from interlock.helpers import ClientClosed, DatabaseHelper
from interlock.helpers.deadline import poll
from interlock.stack import Stack


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("db-helper")
    config = Config(
        root=root, tests=root, artifacts=root / "runs", postgres=PostgresConfig(database="app")
    )
    with Stack(config, run_dir=root / "run") as stack:
        yield stack.postgres_url


@pytest.fixture
def db(postgres_url: str) -> Iterator[DatabaseHelper]:
    with DatabaseHelper(postgres_url, timeout=5) as helper:
        yield helper


def drop_connection_of(db: DatabaseHelper, url: str) -> None:
    """The server ends the helper's connection, as a restart or a fault test would."""
    pid = db.one("SELECT pg_backend_pid() AS pid")["pid"]  # type: ignore[index]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        poll(
            lambda: (
                admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone()
                == (0,)
            ),
            timeout=5,
            what="the connection to end",
        )


def test_a_write_after_the_server_dropped_the_idle_connection_goes_out_once(db, postgres_url):
    db.query("CREATE TABLE IF NOT EXISTS written (n int)")
    db.query("TRUNCATE written")
    drop_connection_of(db, postgres_url)
    db.query("INSERT INTO written VALUES (1)")
    assert db.count("written") == 1


def test_a_read_after_the_server_dropped_the_idle_connection_is_answered(db, postgres_url):
    drop_connection_of(db, postgres_url)
    assert db.query("SELECT 1 AS one") == [{"one": 1}]


def test_a_closed_helper_refuses_to_be_used(postgres_url: str):
    helper = DatabaseHelper(postgres_url, timeout=5)
    assert helper.query("SELECT 1 AS one") == [{"one": 1}]
    helper.close()
    helper.close()  # harmless
    with pytest.raises(ClientClosed, match="the db helper is closed"):
        helper.query("SELECT 1")
    with pytest.raises(ClientClosed):
        helper.connection  # noqa: B018
