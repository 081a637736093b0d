"""Rotation of external API keys without a failed call.

A service's keys live in the database, newest first. A new key becomes the one used,
while the key it replaces stays valid for an overlap period, so a call the provider
refuses with the new key (not yet active on their side) is retried once with the old
one. Revoked keys are never used. Every change goes to the audit log.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.keys_models import IntegrationKey
from wms.db.models import AuditEntry
from wms.errors import NotFound
from wms.integrations.resilience import Permanent
from wms.settings import Settings

__all__ = [
    "REFUSED_KEYS",
    "KeyInfo",
    "KeyRing",
    "KeyedClients",
    "NoUsableKey",
    "fingerprint",
    "key_refused",
    "key_rings",
]

log = logging.getLogger(__name__)
#: how long a call waits for its service's keys to be reloaded before it goes on with
#: the keys known last
RELOAD_WAIT_SECONDS = 0.5
C = TypeVar("C")
T = TypeVar("T")


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


#: (service, key fingerprint) of each refusal of one of our keys by its provider, from any
#: thread; the security stream reports them (``wms.coordination.security_stream``)
REFUSED_KEYS: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()


def key_refused(service: str, key: str) -> None:
    """Note that ``service`` refused ``key``: wrong, not yet active, or revoked at the
    provider (perhaps because it leaked). Safe from any thread; never raises."""
    REFUSED_KEYS.put((service, fingerprint(key)))


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
        self._loading: asyncio.Future[None] | None = None

    async def candidates(self) -> list[str]:
        if self._cached is not None and time.monotonic() - self._loaded_at <= self._refresh:
            return self._cached
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._reload())
        # a frozen database must not stall every call to the provider: wait a little, then
        # go on with the keys known last while the reload finishes in the background
        # (asyncio.wait, not wait_for: cancelling a query waits for a frozen server)
        await asyncio.wait({self._loading}, timeout=RELOAD_WAIT_SECONDS)
        if self._cached is None:
            return [self._bootstrap] if self._bootstrap else []
        return self._cached

    async def _reload(self) -> None:
        try:
            self._cached = await self._load()
        except Exception as exc:
            # the database is unreachable: calls go on with the keys known last (or the
            # configured one), rather than an outage of ours failing the provider's calls
            log.warning("keys of %s not reloaded, using the last known: %s", self.service, exc)
            if self._cached is None:
                self._cached = [self._bootstrap] if self._bootstrap else []
        finally:
            self._loaded_at = time.monotonic()
            self._loading = None

    def forget(self) -> None:
        """Reload at the next call (after this process changed the keys)."""
        self._loaded_at = -math.inf

    async def _load(self) -> list[str]:
        async with self._sessions() as session:
            stored = (
                await session.scalars(
                    select(IntegrationKey)
                    .where(IntegrationKey.service == self.service)
                    .order_by(IntegrationKey.created_at.desc())
                )
            ).all()
        if not stored:  # never rotated: the configured key
            return [self._bootstrap] if self._bootstrap else []
        rows = [row for row in stored if row.revoked_at is None]
        if not rows:  # every key revoked: the service is off until a key is added
            return []
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


#: the configured key of every service whose keys WMS can rotate
_BOOTSTRAP_KEYS: dict[str, Callable[[Settings], str]] = {
    "stripe": lambda s: s.stripe_api_key.get_secret_value(),
    "sendgrid": lambda s: s.sendgrid_api_key.get_secret_value(),
    "twilio": lambda s: s.twilio_auth_token.get_secret_value(),
    "samsara": lambda s: s.samsara_api_token.get_secret_value(),
    "mapbox": lambda s: s.mapbox_access_token.get_secret_value(),
    "google": lambda s: s.google_maps_api_key.get_secret_value(),
    "airtable": lambda s: s.airtable_api_token.get_secret_value(),
    "virustotal": lambda s: s.virustotal_api_key.get_secret_value(),
    "abuseipdb": lambda s: s.abuseipdb_api_key.get_secret_value(),
    "misp": lambda s: s.misp_api_key.get_secret_value(),
    "greynoise": lambda s: s.greynoise_api_key.get_secret_value(),
    "otx": lambda s: s.otx_api_key.get_secret_value(),
}


def key_rings(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> dict[str, KeyRing]:
    """A ring for every service that has a key configured (a service without one is off)."""
    rings = {}
    for service, configured in _BOOTSTRAP_KEYS.items():
        if bootstrap := configured(settings):
            rings[service] = KeyRing(
                service,
                sessions=sessions,
                app_secret=settings.encryption_key.get_secret_value(),
                bootstrap=bootstrap,
                overlap=timedelta(seconds=settings.key_rotation_overlap_seconds),
            )
    return rings


class NoUsableKey(Permanent):
    """Every key of the service is revoked, or none was ever configured."""


class KeyedClients(Generic[C]):
    """One SDK client per usable key of a service, and calls that survive a rotation.

    ``await keys()`` (on the event loop) gives the usable keys, newest first; ``run(keys,
    fn)`` (in the worker thread) calls ``fn(client)`` with the newest key's client and,
    when the provider refuses that key as unknown (``refused(exc)``: it did nothing), with
    the key it replaces. Clients are made once per key by ``make`` and dropped with it
    (left to the garbage collector: a call in another thread may still be using one).
    """

    def __init__(
        self,
        service: str,
        make: Callable[[str], C],
        *,
        refused: Callable[[Exception], bool],
        rings: Mapping[str, KeyRing] | None = None,
        default: str = "",
    ) -> None:
        self.service = service
        self._make = make
        self._refused = refused
        self._ring = (rings or {}).get(service)
        self._default = default
        self._clients: dict[str, C] = {}
        self._lock = threading.Lock()  # keys() runs on the loop, client() in worker threads

    @property
    def configured(self) -> bool:
        return self._ring is not None or bool(self._default)

    async def keys(self) -> list[str]:
        if self._ring is not None:
            keys = await self._ring.candidates()
        else:
            keys = [self._default] if self._default else []
        with self._lock:
            for gone in self._clients.keys() - set(keys):
                del self._clients[gone]
        return keys

    def client(self, key: str) -> C:
        with self._lock:
            existing = self._clients.get(key)
        if existing is not None:
            return existing
        made = self._make(key)  # outside the lock, which the event loop takes too
        with self._lock:
            return self._clients.setdefault(key, made)

    def run(self, keys: Sequence[str], fn: Callable[[C], T]) -> T:
        for index, key in enumerate(keys):
            try:
                return fn(self.client(key))
            except Exception as exc:
                refused = self._refused(exc)
                if refused:
                    key_refused(self.service, key)
                if index + 1 < len(keys) and refused:
                    continue
                raise
        raise NoUsableKey(f"{self.service} has no usable API key")
