"""The seed's DatabaseTestHelper: query, count, and wait for a row, on the real database."""

from __future__ import annotations

import re
import select
from typing import Any

import psycopg
from psycopg.rows import dict_row

from interlock.helpers.deadline import poll
from interlock.lifecycle import Closing, Lifecycle

__all__ = ["DatabaseHelper"]

#: statements that change nothing, and so may be sent again on a new connection
_READ_ONLY = re.compile(
    r"\s*(SELECT|SHOW|VALUES|TABLE)\b(?!.*\bFOR\s+(UPDATE|SHARE)\b)", re.I | re.S
)


class DatabaseHelper(Closing):
    """One autocommit connection, opened at first use, as a dict-row reader and writer.

    A connection the server dropped while idle (a restart, a fault test, an idle timeout)
    is replaced before the next statement; one lost while a statement ran is replaced and
    the statement sent again only when it reads (SELECT, SHOW, VALUES, TABLE), never when
    it may have written. Closed, it raises ``ClientClosed``.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._lifecycle = Lifecycle("the db helper")

    @property
    def connection(self) -> psycopg.Connection[dict[str, Any]]:
        """A live connection (autocommit, dict rows); ClientClosed once the helper is closed."""
        self._lifecycle.use()
        if self._conn is None or self._conn.closed or self._conn.broken or self._dropped():
            self._replace()
        assert self._conn is not None
        return self._conn

    def _dropped(self) -> bool:
        """Whether the server ended the idle connection: it then sent its last words
        (an error, or end of file), which sit unread on the socket."""
        assert self._conn is not None
        if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False  # inside a transaction the test opened: leave it be
        readable, _, _ = select.select([self._conn.fileno()], [], [], 0)
        if not readable:
            return False
        try:
            self._conn.execute("")  # reads what waits; fails if it was the end
        except psycopg.OperationalError:
            return True
        return False

    def _replace(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """Every row of ``sql`` as dicts ([] for a statement that returns none)."""
        try:
            return self._run(sql, params)
        except psycopg.OperationalError:
            if self._conn is None or not self._conn.broken or not _READ_ONLY.match(sql):
                raise
        return self._run(sql, params)  # the connection was lost; a read is safe to repeat

    def _run(self, sql: str, params: Any) -> list[dict[str, Any]]:
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

        limit = self.timeout if timeout is None else timeout
        return poll(probe, timeout=limit, what=what or f"a row from {sql!r}")

    def close(self) -> None:
        """Closes the connection; idempotent, and the helper cannot be used again."""
        if self._lifecycle.close() and self._conn is not None:
            self._conn.close()
            self._conn = None
