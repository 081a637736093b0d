"""The database as ``interlock env up`` brought it up, kept to restore before each attached run.

An app may write rows as it starts (WMS creates its first admin user), so emptying every
table is not a clean start. When the env is up, ``snapshot`` copies every table's rows and
every sequence's position into the schema ``interlock_baseline`` of the same database;
``restore`` empties every table and puts those rows and positions back, in one
transaction. Without a snapshot ``restore`` only empties the tables.

Tables in ``KEEP_TABLES`` (migration bookkeeping) are never touched: the schema stays at
its revision.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg import sql

from interlock.errors import DependencyError
from interlock.stack.redaction import redact

__all__ = ["KEEP_TABLES", "SCHEMA", "discard", "restore", "snapshot"]

#: tables a restore keeps as they are
KEEP_TABLES = frozenset({"alembic_version"})
#: where the snapshot lives, in the database it was taken of
SCHEMA = "interlock_baseline"
#: how long a restore waits for a lock the app holds (an open transaction)
LOCK_TIMEOUT = "10s"

_TABLES = sql.SQL(
    "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
    "('pg_catalog', 'information_schema', {schema}) AND schemaname NOT LIKE 'pg\\_%' "
    "ORDER BY 1, 2"
).format(schema=sql.Literal(SCHEMA))


def snapshot(url: str) -> int:
    """Keep the rows of every table of the database at ``url``; the number of tables.

    Raises DependencyError when the database cannot be reached or written.
    """
    try:
        with psycopg.connect(url, connect_timeout=5) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            schema = sql.Identifier(SCHEMA)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {}.tables (copy text, schemaname text, tablename text)"
                ).format(schema)
            )
            tables = _tables(conn)
            for number, (schemaname, table) in enumerate(tables):
                copy = f"t{number}"
                conn.execute(
                    sql.SQL("CREATE TABLE {}.{} AS TABLE {}").format(
                        schema, sql.Identifier(copy), sql.Identifier(schemaname, table)
                    )
                )
                conn.execute(
                    sql.SQL("INSERT INTO {}.tables VALUES (%s, %s, %s)").format(schema),
                    (copy, schemaname, table),
                )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {}.sequences AS SELECT schemaname, sequencename, last_value "
                    "FROM pg_sequences WHERE schemaname <> {}"
                ).format(schema, sql.Literal(SCHEMA))
            )
            return len(tables)
    except psycopg.Error as exc:
        raise DependencyError(
            f"cannot keep a snapshot of {redact(url)}: {str(exc).strip()}"
        ) from None


def discard(url: str) -> None:
    """Drop the snapshot, when the env stops: a server handed in keeps nothing of ours.

    Best effort: a server that is already gone has nothing left to drop.
    """
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


def restore(url: str) -> tuple[int, bool]:
    """Empty every table and put the snapshot's rows back: (tables, whether a snapshot was).

    Raises DependencyError when the database cannot be reached, a table is locked for
    longer than LOCK_TIMEOUT, or a table's columns changed since the snapshot.
    """
    try:
        with psycopg.connect(url, connect_timeout=5) as conn, conn.transaction():
            conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            tables = _tables(conn)
            if tables:
                names = sql.SQL(", ").join(sql.Identifier(s, t) for s, t in tables)
                conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))
            kept = conn.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'tables'",
                (SCHEMA,),
            ).fetchone()
            if kept is None:
                return len(tables), False
            _put_back(conn, {(s, t) for s, t in tables})
            return len(tables), True
    except psycopg.Error as exc:
        raise DependencyError(
            f"cannot reset the env's database {redact(url)}: {str(exc).strip()}",
            hint="an open transaction of the app holds a lock, or the schema changed since "
            "the env came up; restart 'interlock env up'",
        ) from None


def _tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute(_TABLES).fetchall()
    return [(s, t) for s, t in rows if t not in KEEP_TABLES]


def _put_back(conn: psycopg.Connection[Any], present: set[tuple[str, str]]) -> None:
    schema = sql.Identifier(SCHEMA)
    # foreign keys are checked at commit, when every table has its rows again
    conn.execute("SET CONSTRAINTS ALL DEFERRED")
    # rows go in in an order that respects non-deferrable keys: parents first (by the
    # depth of each table's chain of references), as far as pg_constraint tells
    copies = conn.execute(
        sql.SQL("SELECT copy, schemaname, tablename FROM {}.tables").format(schema)
    ).fetchall()
    depth = _depths(conn)
    copies.sort(key=lambda row: depth.get((row[1], row[2]), 0))
    for copy, schemaname, table in copies:
        if (schemaname, table) not in present:
            continue  # dropped since: nothing to put back
        conn.execute(
            sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {}.{}").format(
                sql.Identifier(schemaname, table), schema, sql.Identifier(copy)
            )
        )
    sequences = conn.execute(
        sql.SQL("SELECT schemaname, sequencename, last_value FROM {}.sequences").format(schema)
    ).fetchall()
    for schemaname, name, last_value in sequences:
        if last_value is not None:  # never used: the truncation restarted it already
            conn.execute(
                "SELECT setval(%s::regclass, %s, true)",
                (sql.Identifier(schemaname, name).as_string(conn), last_value),
            )


def _depths(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], int]:
    """table -> length of its longest chain of foreign keys to other tables."""
    edges = conn.execute(
        "SELECT cn.nspname, c.relname, pn.nspname, p.relname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace "
        "JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace "
        "WHERE k.contype = 'f' AND k.conrelid <> k.confrelid"
    ).fetchall()
    parents: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for cs, ct, ps, pt in edges:
        parents.setdefault((cs, ct), []).append((ps, pt))
    depth: dict[tuple[str, str], int] = {}

    def of(table: tuple[str, str], seen: frozenset[tuple[str, str]]) -> int:
        if table not in depth:
            above = [p for p in parents.get(table, ()) if p not in seen]
            depth[table] = 1 + max((of(p, seen | {table}) for p in above), default=-1)
        return depth[table]

    for table in parents:
        of(table, frozenset())
    return depth
