"""The WMS application factory (``uvicorn wms.api.app:create_app --factory``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
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
from wms.api.passwords import hashing
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
from wms.coordination.admin import router as coordination_router
from wms.coordination.degradation import LowPriorityShedding
from wms.coordination.performance import PerformanceMonitor, RequestTimings
from wms.coordination.routes import router as configuration_router
from wms.db.models import User
from wms.domain.customers.onboarding import Onboarding
from wms.domain.operations.service import Operations
from wms.domain.security.monitor import SecurityMonitor
from wms.events.relay import relay_all
from wms.loops import every, start
from wms.runtime import open_core
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    redact_server_logs()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_core(settings) as core:
            await core.stack.enter_async_context(hashing())
            performance.instrument(core.engine)
            for ring in core.key_rings.values():
                await ring.ensure_bootstrap()
            ops = Operations.build(settings, core.sessions, core.notifier, keys=core.key_rings)
            security = SecurityMonitor.build(
                settings, core.sessions, core.redis, keys=core.key_rings
            )
            core.stack.push_async_callback(security.aclose)
            wake = asyncio.Event()
            svc = Services(
                settings=settings,
                engine=core.engine,
                sessions=core.sessions,
                redis=core.redis,
                onboarding=Onboarding(
                    sessions=core.sessions, payments=core.payments, notifier=core.notifier
                ),
                billing=core.billing,
                notifier=core.notifier,
                operations=ops,
                security=security,
                integrations={
                    s.name: s
                    for s in (
                        core.payments.service,
                        core.email.service,
                        core.sms.service,
                        *ops.external,
                        *security.external,
                    )
                },
                key_rings=core.key_rings,
                wake_relay=wake.set,
                config=core.coordination.agent,
            )
            app.state.services = svc
            app.state.hub = hub = Hub(core.redis)
            app.state.coordination = core.coordination
            core.coordination.watch_hub(hub)
            await _bootstrap_admin(svc)
            stop = asyncio.Event()
            loops = [hub.run()]
            if settings.relay_in_api:  # the worker relays in a full deployment
                # as soon as a request commits an event, and every half second
                loops.append(
                    every(
                        "outbox relay",
                        0.5,
                        relay_all(
                            core.sessions, core.redis, live_maxlen=settings.live_stream_maxlen
                        ),
                        stop,
                        wake=wake,
                    )
                )
            await start(core.stack, *loops)
            # what start-up built lives as long as the process: kept out of the collector's
            # full passes, which otherwise walk all of it (~0.2 s with the loop stopped)
            gc.freeze()
            yield

    app = FastAPI(
        title="WMS",
        version=__version__,
        lifespan=lifespan,
        description="Waste Management System: customers, billing, pickups, routes.",
    )
    install_error_handlers(app)
    app.state.performance = performance = PerformanceMonitor()

    def redis() -> Redis | None:
        svc: Services | None = getattr(app.state, "services", None)
        return svc.redis if svc is not None else None

    app.add_middleware(LowPriorityShedding, redis=redis)
    app.add_middleware(RequestTimings, monitor=performance)

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
    app.include_router(configuration_router)
    app.include_router(coordination_router)
    return app
