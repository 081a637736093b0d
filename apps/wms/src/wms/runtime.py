"""WMS's composition root: what the API and the worker both run on, built in one place.

``open_core`` builds, inside one ``AsyncExitStack``, the database engine and sessions,
Redis, the rotatable keys, the payment and messaging adapters, notifications and billing.
A failure part-way through unwinds what was built; leaving the block undoes it all in
reverse. Each process adds its own parts to ``core.stack`` (the API its routes' services,
the worker its loops), so one stack holds everything the process opened.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wms.coordination.errors import ErrorReporter, installed
from wms.coordination.process import Coordination, open_coordination
from wms.db.session import make_engine, make_sessionmaker, migrate, pool_in_use
from wms.domain.billing.service import Billing
from wms.domain.customers.notifications import Notifier
from wms.integrations import ExternalService
from wms.integrations.keys import KeyRing, key_rings
from wms.integrations.messaging import Email, Sms
from wms.integrations.payments import Payments
from wms.loops import start
from wms.settings import Settings

__all__ = ["Core", "open_core"]


@dataclass(frozen=True, kw_only=True)
class Core:
    settings: Settings
    #: everything this process opened; add to it, never close it yourself
    stack: AsyncExitStack
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    #: this process's error events, on their way to the orchestrator
    errors: ErrorReporter
    key_rings: dict[str, KeyRing]
    payments: Payments
    email: Email
    sms: Sms
    notifier: Notifier
    billing: Billing
    #: declared dependencies, the configuration agent, the health document
    coordination: Coordination


@asynccontextmanager
async def open_core(settings: Settings, *, process: str = "api") -> AsyncIterator[Core]:
    """The shared parts of a WMS process (migrating the database first when configured).

    ``process`` (``api`` or ``worker``) chooses the dependencies it declares, names it
    in its acknowledgements of the configuration and in the error events it reports."""
    async with AsyncExitStack() as stack:
        if settings.migrate_on_start:
            await asyncio.to_thread(
                migrate, settings.database_url, wait_seconds=settings.dependency_wait_seconds
            )
        engine = make_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        # a slow database fills the pool: shed the least critical external work first
        stack.callback(ExternalService.watch("database", lambda: pool_in_use(engine)))
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=5,
            socket_connect_timeout=2,
            # after a Redis restart every pooled connection is dead: try such a command once
            # more on a new one instead of failing it (a refused connection never ran it; a
            # timeout might have, so it is not retried)
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        stack.push_async_callback(redis.aclose)
        sessions = make_sessionmaker(engine)
        errors = ErrorReporter(sessions, redis, process=f"{process}:{os.getpid()}")
        stack.enter_context(installed(errors))
        await start(stack, errors.run())
        rings = key_rings(settings, sessions)
        payments = Payments(settings, keys=rings)
        email, sms = Email(settings, keys=rings), Sms(settings, keys=rings)
        notifier = Notifier(sessions=sessions, email=email, sms=sms)
        coordination = await open_coordination(
            stack, settings, role=process, engine=engine, sessions=sessions, redis=redis
        )
        yield Core(
            settings=settings,
            stack=stack,
            engine=engine,
            sessions=sessions,
            redis=redis,
            errors=errors,
            key_rings=rings,
            payments=payments,
            email=email,
            sms=sms,
            notifier=notifier,
            billing=Billing(
                sessions=sessions,
                payments=payments,
                notifier=notifier,
                dunning_schedule_hours=tuple(settings.dunning_schedule_hours),
            ),
            coordination=coordination,
        )
