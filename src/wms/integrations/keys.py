"""Rotation of external API keys without a failed call.

A service's keys live in the database, newest first. A new key becomes the one used,
while the key it replaces stays valid for an overlap period, so a call the provider
refuses with the new key (not yet active on their side) is retried once with the old
one. Revoked keys are never used. Every change goes to the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.keys_models import IntegrationKey
from wms.db.models import AuditEntry
from wms.errors import NotFound
from wms.settings import Settings

__all__ = ["KeyInfo", "KeyRing", "fingerprint", "stripe_key_ring"]


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _box(app_secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(app_secret.encode()).digest()))


@dataclass(frozen=True, kw_only=True)
class KeyInfo:
    id: uuid.UUID
    service: str
    fingerprint: str
    created_at: datetime
    revoked_at: datetime | None
    in_use: bool


class KeyRing:
    """The usable keys of one service: ``await ring.candidates()``, newest first."""

    def __init__(
        self,
        service: str,
        *,
        sessions: async_sessionmaker[AsyncSession],
        app_secret: str,
        bootstrap: str,
        overlap: timedelta,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.service = service
        self._sessions = sessions
        self._box = _box(app_secret)
        self._bootstrap = bootstrap
        self.overlap = overlap
        self._refresh = refresh_seconds
        self._cached: list[str] | None = None
        self._loaded_at = 0.0

    async def candidates(self) -> list[str]:
        if self._cached is None or time.monotonic() - self._loaded_at > self._refresh:
            self._cached = await self._load()
            self._loaded_at = time.monotonic()
        return self._cached

    def forget(self) -> None:
        """Reload at the next call (after this process changed the keys)."""
        self._cached = None

    async def _load(self) -> list[str]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(IntegrationKey)
                    .where(
                        IntegrationKey.service == self.service, IntegrationKey.revoked_at.is_(None)
                    )
                    .order_by(IntegrationKey.created_at.desc())
                )
            ).all()
        if not rows:
            return [self._bootstrap] if self._bootstrap else []
        now = datetime.now(UTC)
        keys = [self._box.decrypt(rows[0].secret.encode()).decode()]
        # the key a newer one replaced stays usable until the overlap after that replacement
        for newer, older in itertools.pairwise(rows):
            if now - newer.created_at < self.overlap:
                keys.append(self._box.decrypt(older.secret.encode()).decode())
            else:
                break
        return keys

    async def ensure_bootstrap(self) -> None:
        """Store the configured key as the first one, so rotation has something to replace."""
        if not self._bootstrap:
            return
        async with self._sessions() as session, session.begin():
            exists = await session.scalar(
                select(IntegrationKey.id).where(IntegrationKey.service == self.service).limit(1)
            )
            if exists is None:
                session.add(self._row(self._bootstrap, created=datetime.now(UTC) - self.overlap))

    def _row(self, secret: str, *, created: datetime | None = None) -> IntegrationKey:
        row = IntegrationKey(
            service=self.service,
            fingerprint=fingerprint(secret),
            secret=self._box.encrypt(secret.encode()).decode(),
        )
        if created is not None:
            row.created_at = created
        return row

    async def add(self, secret: str, *, actor: str) -> KeyInfo:
        row = self._row(secret, created=datetime.now(UTC))
        async with self._sessions() as session, session.begin():
            session.add(row)
            session.add(
                AuditEntry(
                    actor=actor,
                    action="integration_key_added",
                    details={"service": self.service, "fingerprint": row.fingerprint},
                )
            )
        self.forget()
        return self._info(row, in_use=True)

    async def revoke(self, key_id: uuid.UUID, *, actor: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(IntegrationKey, key_id)
            if row is None or row.service != self.service:
                raise NotFound("key not found")
            if row.revoked_at is None:
                await session.execute(
                    update(IntegrationKey)
                    .where(IntegrationKey.id == key_id)
                    .values(revoked_at=datetime.now(UTC))
                )
                session.add(
                    AuditEntry(
                        actor=actor,
                        action="integration_key_revoked",
                        details={"service": self.service, "fingerprint": row.fingerprint},
                    )
                )
        self.forget()

    async def list(self) -> list[KeyInfo]:
        usable = {fingerprint(k) for k in await self._load()}
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(IntegrationKey)
                    .where(IntegrationKey.service == self.service)
                    .order_by(IntegrationKey.created_at.desc())
                )
            ).all()
        return [
            self._info(r, in_use=r.fingerprint in usable and r.revoked_at is None) for r in rows
        ]

    async def newest_age_seconds(self) -> float | None:
        async with self._sessions() as session:
            created = await session.scalar(
                select(IntegrationKey.created_at)
                .where(IntegrationKey.service == self.service, IntegrationKey.revoked_at.is_(None))
                .order_by(IntegrationKey.created_at.desc())
                .limit(1)
            )
        return (datetime.now(UTC) - created).total_seconds() if created else None

    def _info(self, row: IntegrationKey, *, in_use: bool) -> KeyInfo:
        return KeyInfo(
            id=row.id,
            service=row.service,
            fingerprint=row.fingerprint,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            in_use=in_use,
        )


def stripe_key_ring(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> KeyRing:
    return KeyRing(
        "stripe",
        sessions=sessions,
        app_secret=settings.jwt_secret.get_secret_value(),
        bootstrap=settings.stripe_api_key.get_secret_value(),
        overlap=timedelta(seconds=settings.key_rotation_overlap_seconds),
    )
