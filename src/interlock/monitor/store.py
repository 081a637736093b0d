"""The two databases a monitor's history can live in: SQLite (WAL) and PostgreSQL.

One SQL text serves both: statements are written with psycopg's placeholders
(``%s``, ``%(name)s``) and translated for sqlite3; types are those both accept.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg

__all__ = ["HISTORY_ERRORS", "Store", "is_database_url", "open_store", "redacted"]

#: what a failing history raises, whichever database holds it
HISTORY_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.Error, psycopg.Error)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS monitor_samples (
    id {id}, probe TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, ok INTEGER NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL, error TEXT, metrics TEXT NOT NULL DEFAULT '{{}}',
    outage INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS monitor_samples_probe_at ON monitor_samples (probe, at);
CREATE TABLE IF NOT EXISTS monitor_rollups (
    probe TEXT NOT NULL, bucket DOUBLE PRECISION NOT NULL, width DOUBLE PRECISION NOT NULL,
    checks INTEGER NOT NULL, ok_checks INTEGER NOT NULL, latency_sum DOUBLE PRECISION NOT NULL,
    latency_max DOUBLE PRECISION NOT NULL, PRIMARY KEY (probe, bucket));
CREATE TABLE IF NOT EXISTS monitor_system (
    at DOUBLE PRECISION NOT NULL, source TEXT NOT NULL, cpu DOUBLE PRECISION NOT NULL,
    memory DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS monitor_alerts (
    id {id}, key TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,
    state TEXT NOT NULL, message TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
    fired DOUBLE PRECISION, ended DOUBLE PRECISION, end_reason TEXT);
"""
_NAMED = re.compile(r"%\((\w+)\)s")


class Store(Protocol):
    """A connection, in autocommit: every statement is committed when it returns."""

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """Run one statement; the rows it returns (empty for most writes)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Statements inside are committed together, or not at all."""
        ...

    def close(self) -> None: ...


class _Sqlite:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed sample survives the process being killed
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA.format(id="INTEGER PRIMARY KEY"))
        except sqlite3.Error:
            self.db.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        sql = _NAMED.sub(r":\1", sql).replace("%s", "?")
        return self.db.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class _Postgres:
    def __init__(self, url: str) -> None:
        self.db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        try:
            for statement in _SCHEMA.format(id="BIGSERIAL PRIMARY KEY").split(";"):
                if statement.strip():
                    self.db.execute(statement.encode())
        except psycopg.Error:
            self.db.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        cursor = self.db.execute(sql.encode(), params)
        return cursor.fetchall() if cursor.description is not None else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.transaction():
            yield

    def close(self) -> None:
        self.db.close()


def redacted(target: str | Path) -> str:
    """A history's name for messages: a database URL without its password."""
    parts = urlsplit(str(target))
    if not is_database_url(target) or parts.password is None:
        return str(target)
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def is_database_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path) -> Store:
    """A PostgreSQL URL opens that database; anything else is a SQLite file's path."""
    if is_database_url(target):
        return _Postgres(str(target))
    return _Sqlite(Path(target))
