"""The seed's DatabaseTestHelper: query, count, and wait for a row, on the real database."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from interlock.helpers.deadline import poll

__all__ = ["DatabaseHelper"]


class DatabaseHelper:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._conn: psycopg.Connection[dict[str, Any]] | None = None

    @property
    def connection(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
        return self._conn

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def one(self, sql: str, params: Any = None) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        if len(rows) > 1:
            raise AssertionError(f"expected at most one row, got {len(rows)}: {sql}")
        return rows[0] if rows else None

    def count(self, table: str, where: str = "TRUE", params: Any = None) -> int:
        row = self.one(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)
        return int(row["n"]) if row else 0

    def wait_for_row(
        self, sql: str, params: Any = None, *, timeout: float | None = None, what: str | None = None
    ) -> dict[str, Any]:
        """The first row of ``sql`` once there is one; fails the test after the timeout."""

        def probe() -> dict[str, Any] | None:
            rows = self.query(sql, params)
            return rows[0] if rows else None

        return poll(probe, timeout=timeout or self.timeout, what=what or f"a row from {sql!r}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
