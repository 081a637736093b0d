"""Engine and sessions, and the start-up steps: wait for PostgreSQL, migrate."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import QueuePool

__all__ = ["async_url", "make_engine", "make_sessionmaker", "migrate", "pool_in_use", "sync_url"]

MIGRATIONS = Path(__file__).parent / "migrations"
#: any constant will do; it serialises migrations between processes that start together
MIGRATION_LOCK = 7_201_104


def _driver_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def async_url(url: str) -> str:
    return _driver_url(url)


def sync_url(url: str) -> str:
    return _driver_url(url)


#: connections a process keeps open, and how many more it may open under load
POOL_SIZE, MAX_OVERFLOW = 10, 20


def make_engine(url: str) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_pre_ping=True,
        pool_timeout=10,
    )


def pool_in_use(engine: AsyncEngine) -> float:
    """Share of the engine's connections checked out now, 0 to 1 (1: requests wait for one)."""
    pool = engine.sync_engine.pool
    checked_out = pool.checkedout() if isinstance(pool, QueuePool) else 0
    return min(1.0, checked_out / (POOL_SIZE + MAX_OVERFLOW))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def migrate(url: str, *, wait_seconds: float = 20.0) -> None:
    """Wait until PostgreSQL accepts connections, then upgrade the schema to head."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(sync_url(url), poolclass=None)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                connection = engine.connect()
                break
            except Exception:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)
        with connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()
    finally:
        engine.dispose()
