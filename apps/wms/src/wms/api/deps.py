"""Request dependencies: the app's services, and who is calling."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wms.domain.billing.service import Billing
from wms.domain.customers.notifications import Notifier
from wms.domain.customers.onboarding import Onboarding
from wms.domain.operations.service import Operations
from wms.domain.security.monitor import SecurityMonitor
from wms.errors import Forbidden, Unauthorized
from wms.integrations.keys import KeyRing
from wms.integrations.resilience import ExternalService
from wms.security import Principal, verify_token
from wms.settings import Settings

__all__ = ["Services", "principal_from_token", "require", "services"]


@dataclass(kw_only=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    onboarding: Onboarding
    billing: Billing
    notifier: Notifier
    operations: Operations
    security: SecurityMonitor
    #: every external service's resilient wrapper, by name (for /api/v1/integrations)
    integrations: dict[str, ExternalService]
    #: the services whose API keys can be rotated
    key_rings: dict[str, KeyRing]
    wake_relay: Callable[[], None]


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def principal_from_token(token: str, settings: Settings) -> Principal:
    return verify_token(
        token,
        secret=settings.jwt_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def require(*roles: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the bearer token and checks the caller's role."""

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token", code="missing_token")
        principal = principal_from_token(token.strip(), services(request).settings)
        if roles and principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not do this")
        return principal

    return dependency
