"""Stored API keys of external services (encrypted)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from wms.db.models import Base

__all__ = ["IntegrationKey"]


class IntegrationKey(Base):
    __tablename__ = "integration_keys"
    __table_args__ = (Index("ix_integration_keys_service", "service", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    service: Mapped[str] = mapped_column(String(32))
    #: the key, encrypted with a key derived from the application secret
    secret: Mapped[str] = mapped_column(Text)
    #: a short hash, to tell keys apart in lists and logs without revealing them
    fingerprint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
