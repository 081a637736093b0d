"""The WMS application factory (``uvicorn wms.api.app:create_app --factory``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select

from wms import __version__
from wms.api.deps import Services
from wms.api.errors import install_error_handlers
from wms.api.headers import SecurityHeaders
from wms.api.limits import RequestLimits
from wms.api.logs import redact_server_logs
from wms.api.routes import (
    auth,
    billing,
    customers,
    health,
    integrations,
    notifications,
    operations,
)
from wms.api.routes.security import router as security_router
from wms.api.ws import Hub
from wms.api.ws import router as ws_router
from wms.db.models import User
from wms.db.session import make_engine, make_sessionmaker, migrate
from wms.domain.billing import Billing
from wms.domain.customers import Onboarding
from wms.domain.notifications import Notifier
from wms.domain.operations import Operations
from wms.domain.security import SecurityMonitor
from wms.events.relay import relay_once
from wms.integrations.keys import key_rings
from wms.integrations.messaging import Email, Sms
from wms.integrations.payments import Payments
from wms.security import hash_password
from wms.settings import Settings, get_settings

__all__ = ["create_app"]

log = logging.getLogger("wms")


async def _bootstrap_admin(svc: Services) -> None:
    settings = svc.settings
    if not settings.bootstrap_admin_email or settings.bootstrap_admin_password is None:
        return
    async with svc.sessions() as session, session.begin():
        exists = await session.scalar(
            select(User.id).where(User.email == settings.bootstrap_admin_email)
        )
        if exists is None:
            session.add(
                User(
                    email=settings.bootstrap_admin_email,
                    role="admin",
                    password_hash=hash_password(
                        settings.bootstrap_admin_password.get_secret_value()
                    ),
                )
            )


async def _relay_loop(svc: Services, wake: asyncio.Event) -> None:
    """Publish outbox events as soon as a request commits one, and every half second."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=0.5)
        wake.clear()
        try:
            while await relay_once(svc.sessions, svc.redis) > 0:
                pass
        except Exception as exc:
            log.warning("outbox relay failed: %s", exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    redact_server_logs()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await asyncio.to_thread(
                migrate, settings.database_url, wait_seconds=settings.dependency_wait_seconds
            )
        engine = make_engine(settings.database_url)
        redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        sessions = make_sessionmaker(engine)
        wake = asyncio.Event()
        rings = key_rings(settings, sessions)
        for ring in rings.values():
            await ring.ensure_bootstrap()
        payments = Payments(settings, keys=rings)
        email, sms = Email(settings, keys=rings), Sms(settings, keys=rings)
        notifier = Notifier(sessions=sessions, email=email, sms=sms)
        ops = Operations.build(settings, sessions, notifier, keys=rings)
        security = SecurityMonitor.build(settings, sessions, redis, keys=rings)
        svc = Services(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            onboarding=Onboarding(sessions=sessions, payments=payments, notifier=notifier),
            billing=Billing(
                sessions=sessions,
                payments=payments,
                notifier=notifier,
                dunning_schedule_hours=tuple(settings.dunning_schedule_hours),
            ),
            notifier=notifier,
            operations=ops,
            security=security,
            integrations={
                s.name: s
                for s in (
                    payments.service,
                    email.service,
                    sms.service,
                    *ops.external,
                    *security.external,
                )
            },
            key_rings=rings,
            wake_relay=wake.set,
        )
        app.state.services = svc
        app.state.hub = hub = Hub(redis)
        await _bootstrap_admin(svc)
        tasks = [asyncio.create_task(hub.run())]
        if settings.relay_in_api:  # the worker relays in a full deployment
            tasks.append(asyncio.create_task(_relay_loop(svc, wake)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await security.aclose()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="WMS",
        version=__version__,
        lifespan=lifespan,
        description="Waste Management System: customers, billing, pickups, routes.",
    )
    install_error_handlers(app)

    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: the limits' refusals carry them too

    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(customers.router)
    app.include_router(billing.router)
    app.include_router(integrations.router)
    app.include_router(notifications.router)
    app.include_router(operations.router)
    app.include_router(security_router)
    app.include_router(ws_router)
    return app
