"""The WMS worker: relays the outbox to Redis and retries failed payments (dunning).

Run as ``python -m wms.worker``. It wakes on PostgreSQL NOTIFY from the transaction that
wrote an event (so only committed events are seen) and also polls, so an event written
while it was down is relayed as soon as it is back: none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import psycopg
from redis.asyncio import Redis

from wms.db.session import make_engine, make_sessionmaker, migrate
from wms.domain.billing.service import Billing
from wms.domain.customers.notifications import Notifier
from wms.domain.operations.service import background_jobs
from wms.events import OUTBOX_NOTIFY
from wms.events.relay import relay_once
from wms.integrations.keys import key_rings
from wms.integrations.messaging import Email, Sms
from wms.integrations.payments import Payments
from wms.settings import Settings, get_settings

__all__ = ["main", "run"]

log = logging.getLogger("wms.worker")
POLL_SECONDS = 1.0


async def _listen(url: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``wake`` on every outbox NOTIFY; reconnect when PostgreSQL goes away."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
                await conn.execute(f"LISTEN {OUTBOX_NOTIFY}")
                wake.set()  # catch up on whatever was written while we were not listening
                async for _ in conn.notifies():
                    wake.set()
        except (psycopg.Error, OSError) as exc:
            log.warning("outbox listener lost (%s); reconnecting", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)


async def _relay(
    settings: Settings, sessions: object, redis: Redis, wake: asyncio.Event, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=POLL_SECONDS)
        wake.clear()
        try:
            while await relay_once(sessions, redis) > 0:  # type: ignore[arg-type]
                pass
        except Exception as exc:
            log.warning("outbox relay failed: %s", exc)


async def _dunning(billing: Billing, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            retried = await billing.retry_due()
            if retried:
                log.info("dunning: retried %d invoice(s)", retried)
        except Exception as exc:
            log.warning("dunning pass failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def run(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    if settings.migrate_on_start:
        await asyncio.to_thread(
            migrate, settings.database_url, wait_seconds=settings.dependency_wait_seconds
        )
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    rings = key_rings(settings, sessions)
    notifier = Notifier(
        sessions=sessions, email=Email(settings, keys=rings), sms=Sms(settings, keys=rings)
    )
    billing = Billing(
        sessions=sessions,
        payments=Payments(settings, keys=rings),
        notifier=notifier,
        dunning_schedule_hours=tuple(settings.dunning_schedule_hours),
    )
    stop, wake = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = [
        asyncio.create_task(_listen(settings.database_url, wake, stop)),
        asyncio.create_task(_relay(settings, sessions, redis, wake, stop)),
        asyncio.create_task(_dunning(billing, settings.dunning_interval_seconds, stop)),
        *(
            asyncio.create_task(job)
            for job in background_jobs(settings, sessions, stop, keys=rings)
        ),
    ]
    log.info("worker running")
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()
        await engine.dispose()
        log.info("worker stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run())


if __name__ == "__main__":
    main()
