"""Tables of the versioned configuration: its versions, which one is active, who applied it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from wms.db.models import Base, JSONType

__all__ = ["ConfigAck", "ConfigActivation", "ConfigVersion"]


class ConfigVersion(Base):
    """One validated configuration document; versions count up from 1 and never change."""

    __tablename__ = "config_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    author: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConfigActivation(Base):
    """Which version became active when (a put or a rollback); the newest row is in force."""

    __tablename__ = "config_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(ForeignKey("config_versions.version"))
    #: put (a new version) or rollback (an earlier one again)
    action: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(320))
    activated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ConfigAck(Base):
    """What one running process has applied: its acknowledgement and its heartbeat."""

    __tablename__ = "config_acks"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: api or worker
    role: Mapped[str] = mapped_column(String(32))
    #: the version applied; 0 is the built-in defaults (no version stored yet)
    version: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: why the active version could not be applied (the process keeps the one before)
    error: Mapped[str | None] = mapped_column(Text)
