"""The WMS worker: relays the outbox to Redis and retries failed payments (dunning).

Run as ``python -m wms.worker``. It wakes on PostgreSQL NOTIFY from the transaction that
wrote an event (so only committed events are seen) and also polls, so an event written
while it was down is relayed as soon as it is back: none is lost.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial

import psycopg

from wms.coordination.loops import coordination_loops
from wms.domain.billing.service import Billing
from wms.domain.operations.service import background_jobs
from wms.events import OUTBOX_NOTIFY
from wms.events.relay import relay_all
from wms.loops import every, start
from wms.runtime import open_core
from wms.settings import Settings, get_settings

__all__ = ["main", "run"]

log = logging.getLogger("wms.worker")
POLL_SECONDS = 1.0


async def _listen_until_lost(url: str, wake: asyncio.Event) -> int:
    """Set ``wake`` on every outbox NOTIFY, until PostgreSQL goes away (then raises)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
        await conn.execute(f"LISTEN {OUTBOX_NOTIFY}")
        wake.set()  # catch up on whatever was written while we were not listening
        async for _ in conn.notifies():
            wake.set()
    return 0


async def _dunning_pass(billing: Billing) -> int:
    retried = await billing.retry_due()
    if retried:
        log.info("dunning: retried %d invoice(s)", retried)
    return retried


async def run(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    async with open_core(settings, process="worker") as core:
        stop, wake = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        relay = relay_all(core.sessions, core.redis, live_maxlen=settings.live_stream_maxlen)
        await start(
            core.stack,
            # a lost listener is reconnected at the next turn, half a second later
            every(
                "outbox listener",
                0.5,
                partial(_listen_until_lost, settings.database_url, wake),
                stop,
            ),
            every("outbox relay", POLL_SECONDS, relay, stop, wake=wake),
            every(
                "dunning pass",
                settings.dunning_interval_seconds,
                partial(_dunning_pass, core.billing),
                stop,
            ),
            *background_jobs(settings, core.sessions, stop, keys=core.key_rings),
            *coordination_loops(settings, core, stop),
        )
        log.info("worker running")
        await stop.wait()
    log.info("worker stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run())


if __name__ == "__main__":
    main()
