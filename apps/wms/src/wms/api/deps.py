"""Request dependencies: the app's services, and who is calling."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wms.coordination.config_agent import ConfigAgent
from wms.db.models import User
from wms.domain.billing.service import Billing
from wms.domain.customers.notifications import Notifier
from wms.domain.customers.onboarding import Onboarding
from wms.domain.operations.service import Operations
from wms.domain.security.monitor import SecurityMonitor
from wms.errors import Forbidden, Unauthorized
from wms.integrations.keys import KeyRing
from wms.integrations.resilience import ExternalService
from wms.security import ROLES, Principal, verify_token
from wms.settings import Settings

__all__ = [
    "Services",
    "authenticate",
    "forget_standing",
    "principal_from_token",
    "require",
    "services",
]

log = logging.getLogger("wms.auth")


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
    #: the runtime configuration this process applied (PUT /api/v1/config changes it)
    config: ConfigAgent | None = None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def principal_from_token(token: str, settings: Settings) -> Principal:
    """The token's claims, verified (signature, algorithm, exp, iss, aud); see authenticate."""
    return verify_token(
        token,
        secret=settings.jwt_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


#: seconds a user's (role, customer, token version) is kept in Redis. Revocation deletes
#: it at once; the bound only matters if that delete is lost (Redis unreachable then)
AUTH_CACHE_SECONDS = 60
_AUTH_KEY = "wms:auth:"


@dataclass(frozen=True)
class _Standing:
    role: str
    customer_id: uuid.UUID | None
    token_version: int


async def _standing(svc: Services, user_id: uuid.UUID) -> _Standing | None:
    """The user's current role, customer and token version: from Redis (shared by every
    API process, and answering while PostgreSQL is slow) or else from the database."""
    key = _AUTH_KEY + str(user_id)
    try:
        cached = await svc.redis.get(key)
    except Exception as exc:  # Redis down: the database alone decides
        log.warning("auth cache unavailable: %s", exc)
        cached = None
    if cached is not None:
        role, customer, version = json.loads(cached)
        return _Standing(role, uuid.UUID(customer) if customer else None, int(version))
    async with svc.sessions() as session:
        row = (
            await session.execute(
                select(User.role, User.customer_id, User.token_version).where(User.id == user_id)
            )
        ).first()
    if row is None:
        return None
    found = _Standing(row.role, row.customer_id, row.token_version)
    value = json.dumps([found.role, str(found.customer_id or ""), found.token_version])
    with contextlib.suppress(Exception):
        await svc.redis.set(key, value, ex=AUTH_CACHE_SECONDS)
    return found


async def forget_standing(svc: Services, user_id: uuid.UUID) -> None:
    """Drop the user's cached standing; call after committing a change to it."""
    try:
        await svc.redis.delete(_AUTH_KEY + str(user_id))
    except Exception as exc:
        log.error("revocation of %s not propagated to the auth cache: %s", user_id, exc)


async def authenticate(token: str, svc: Services) -> Principal:
    """Who the token speaks for, as WMS knows them now.

    A valid signature is not enough: the user must still exist and the token's version
    must be the user's current one (logout, a password or role change and deletion raise
    it), and the role and customer are the stored ones, not the token's. Raises
    Unauthorized otherwise.
    """
    claimed = principal_from_token(token, svc.settings)
    standing = await _standing(svc, claimed.user_id)
    if standing is None or standing.token_version != claimed.token_version:
        raise Unauthorized("token revoked", code="token_revoked")
    return dataclasses.replace(claimed, role=standing.role, customer_id=standing.customer_id)


def require(*roles: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the bearer token and checks the caller's role.

    Every endpoint names the roles it admits: ``require()`` without any raises TypeError
    when the route is declared, so that no endpoint is open to every role by omission.
    """
    if not roles:
        raise TypeError("require() needs the roles it admits: an endpoint has no default rule")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise TypeError(f"require(): unknown roles {sorted(unknown)}")

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token", code="missing_token")
        principal = await authenticate(token.strip(), services(request))
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not do this")
        return principal

    return dependency
