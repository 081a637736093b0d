"""Versioned, schema-validated configuration kept in PostgreSQL.

A version is a whole document, validated against ``WMSConfiguration`` before it is
stored; versions count up from 1 and never change. The newest row of
``config_activations`` says which version is in force: putting a document stores a new
version and activates it, a rollback activates an earlier one again. Version 0 is the
built-in defaults, in force until a first version is put.

Every running process applies the active version and acknowledges it in
``config_acks`` (see ``wms.coordination.config_agent``); ``ConfigStore.cluster`` tells
which live processes disagree with the active version (drift).

Errors: ``Conflict`` (409) when there is nothing earlier to roll back to; ``NotFound``
(404) for a rollback to a version never stored. A document that fails the schema never
gets here: the API refuses it with 422.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.config_models import ConfigAck, ConfigActivation, ConfigVersion
from wms.domain.schemas import TEXT, Integer
from wms.errors import Conflict, NotFound

__all__ = [
    "CONFIG_CHANNEL",
    "MIGRATION_ID",
    "Activation",
    "ClusterView",
    "ConfigStore",
    "ProcessAck",
    "WMSConfiguration",
]

log = logging.getLogger("wms.config")

#: Redis channel on which a new active version is announced (the payload is the version)
CONFIG_CHANNEL = "wms.config.changed"
_FEATURE = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
FeatureName = Annotated[str, StringConstraints(pattern=_FEATURE)]
#: stated as JSON Schema says it (propertyNames), so that a client knows which names pass
_FEATURES_SCHEMA = WithJsonSchema(
    {
        "type": "object",
        "propertyNames": {"pattern": _FEATURE},
        "additionalProperties": {"type": "boolean"},
        "maxProperties": 100,
    }
)
#: a recommendation's id (``wms.coordination.advice``): the name of the index it creates
MIGRATION_ID = r"^[a-z0-9_]{1,63}$"
#: serialises puts and rollbacks, so two of them never take the same version number
_CONFIG_LOCK = 7_201_107


class WMSConfiguration(BaseModel):
    """The configuration an operator changes while WMS runs (JSON Schema:
    ``GET /api/v1/config/schema``). Unknown keys are refused, so a typo is an error,
    not a setting silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: seconds during which one kind of security refusal (a forged token, an unsigned
    #: webhook, a refused WebSocket) from one client is reported once
    security_quiet_seconds: Integer = Field(default=60, ge=1, le=3600)
    #: refuse writes with 503 and a message while data is being moved
    maintenance: bool = False
    # PostgreSQL's JSON holds no NUL character: refused here, not failed on at the store
    maintenance_message: str = Field(default="", max_length=500, pattern=TEXT)
    #: named switches for features being rolled out, e.g. {"route_optimisation": true}
    features: Annotated[dict[FeatureName, bool], _FEATURES_SCHEMA] = Field(
        default_factory=dict, max_length=100
    )
    #: recommendations needing a migration that an operator acknowledged, by id: only
    #: these may be applied (``POST /api/v1/coordination/recommendations/{id}/apply``)
    acknowledged_migrations: list[Annotated[str, StringConstraints(pattern=MIGRATION_ID)]] = Field(
        default_factory=list, max_length=100
    )


class Activation(BaseModel):
    version: int
    action: Literal["put", "rollback", "defaults"]
    author: str
    activated_at: datetime | None
    #: as stored; every version put through the API matches ``WMSConfiguration``
    document: dict[str, Any]


class ProcessAck(BaseModel):
    process_id: str
    role: str
    version: int
    applied_at: datetime
    heartbeat_at: datetime
    error: str | None
    #: no heartbeat for ``stale_after`` seconds: the process is gone or cut off
    stale: bool


class ClusterView(BaseModel):
    """The active version and what every process reports having applied."""

    active_version: int
    processes: list[ProcessAck]
    #: live processes whose applied version differs from the active one
    drifted: list[str]
    in_sync: bool


class ConfigStore:
    """Versions, activations and acknowledgements in PostgreSQL; announcements on Redis."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        stale_after_seconds: float,
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self.stale_after = timedelta(seconds=stale_after_seconds)

    async def active(self) -> Activation:
        """The version in force (version 0, the defaults, when none was ever put)."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(ConfigActivation, ConfigVersion)
                    .join(ConfigVersion, ConfigVersion.version == ConfigActivation.version)
                    .order_by(ConfigActivation.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return Activation(
                version=0,
                action="defaults",
                author="wms",
                activated_at=None,
                document=WMSConfiguration().model_dump(mode="json"),
            )
        activation, version = row
        return Activation(
            version=version.version,
            action=activation.action,
            author=activation.author,
            activated_at=activation.activated_at,
            document=dict(version.document),
        )

    async def active_version(self) -> int:
        """Only the number: what each process compares with its own at every re-check."""
        async with self.sessions() as session:
            found = await session.scalar(
                select(ConfigActivation.version).order_by(ConfigActivation.id.desc()).limit(1)
            )
        return found or 0

    async def document(self, version: int) -> dict[str, Any]:
        """The stored document of ``version`` as written (0: the defaults). Raises NotFound."""
        if version == 0:
            return WMSConfiguration().model_dump(mode="json")
        async with self.sessions() as session:
            found = await session.get(ConfigVersion, version)
        if found is None:
            raise NotFound(f"no configuration version {version}")
        return dict(found.document)

    async def put(self, document: WMSConfiguration, *, author: str, reason: str) -> Activation:
        """Store ``document`` as the next version, make it active, and announce it."""
        async with self.sessions() as session, session.begin():
            await self._lock(session)
            latest = await session.scalar(select(func.max(ConfigVersion.version)))
            number = (latest or 0) + 1
            session.add(
                ConfigVersion(
                    version=number,
                    document=document.model_dump(mode="json"),
                    author=author,
                    reason=reason,
                )
            )
            await session.flush()
            session.add(ConfigActivation(version=number, action="put", author=author))
        await self.announce(number)
        return await self.active()

    async def rollback(self, *, author: str, to: int | None = None) -> Activation:
        """Make an earlier version active again: ``to``, or the newest version below the
        active one. Raises Conflict when there is none, NotFound for an unknown ``to``."""
        async with self.sessions() as session, session.begin():
            await self._lock(session)
            current = (
                await session.scalar(
                    select(ConfigActivation.version).order_by(ConfigActivation.id.desc()).limit(1)
                )
                or 0
            )
            if to is None:
                target = await session.scalar(
                    select(func.max(ConfigVersion.version)).where(ConfigVersion.version < current)
                )
                if target is None:
                    raise Conflict(
                        f"configuration version {current} has no earlier version to roll back to"
                    )
            else:
                if await session.get(ConfigVersion, to) is None:
                    raise NotFound(f"no configuration version {to}")
                target = to
            session.add(ConfigActivation(version=target, action="rollback", author=author))
        await self.announce(target)
        return await self.active()

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Activations, newest first: ``{version, action, author, activated_at}``."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(ConfigActivation).order_by(ConfigActivation.id.desc()).limit(limit)
                )
            ).all()
        return [
            {
                "version": r.version,
                "action": r.action,
                "author": r.author,
                "activated_at": r.activated_at,
            }
            for r in rows
        ]

    async def announce(self, version: int) -> bool:
        """Tell every process to reload now. Best effort: a process that misses it finds
        the new version at its next re-check. Returns whether Redis took the message."""
        try:
            await self.redis.publish(CONFIG_CHANNEL, str(version))
        except RedisError as exc:
            log.warning("configuration %d not announced (re-checks will find it): %s", version, exc)
            return False
        return True

    # -- acknowledgements -----------------------------------------------------------------
    async def acknowledge(
        self, *, process_id: str, role: str, version: int, applied_at: datetime, error: str | None
    ) -> None:
        """Record what ``process_id`` has applied, with a heartbeat of now."""
        values = {
            "process_id": process_id,
            "role": role,
            "version": version,
            "applied_at": applied_at,
            "heartbeat_at": datetime.now(UTC),
            "error": error,
        }
        statement = insert(ConfigAck).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[ConfigAck.process_id],
            set_={k: statement.excluded[k] for k in values if k != "process_id"},
        )
        async with self.sessions() as session, session.begin():
            await session.execute(statement)

    async def withdraw(self, process_id: str) -> None:
        """A process stopping cleanly takes its acknowledgement with it."""
        async with self.sessions() as session, session.begin():
            await session.execute(delete(ConfigAck).where(ConfigAck.process_id == process_id))

    async def cluster(self) -> ClusterView:
        """Every process's acknowledgement against the active version."""
        active = await self.active_version()
        now = datetime.now(UTC)
        async with self.sessions() as session:
            rows = (await session.scalars(select(ConfigAck).order_by(ConfigAck.role))).all()
        processes = [
            ProcessAck(
                process_id=r.process_id,
                role=r.role,
                version=r.version,
                applied_at=r.applied_at,
                heartbeat_at=r.heartbeat_at,
                error=r.error,
                stale=now - r.heartbeat_at > self.stale_after,
            )
            for r in rows
        ]
        drifted = [p.process_id for p in processes if not p.stale and p.version != active]
        return ClusterView(
            active_version=active, processes=processes, drifted=drifted, in_sync=not drifted
        )

    @staticmethod
    async def _lock(session: AsyncSession) -> None:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CONFIG_LOCK})
