"""Each process's side of the configuration: apply the active version, acknowledge it.

Two ways in, so that no change is missed: the announcement on Redis (``CONFIG_CHANNEL``)
wakes the agent at once, and a re-check every ``recheck_seconds`` compares the active
version in PostgreSQL with the applied one (it catches an announcement lost while Redis
was down or the subscription was being re-made). Every pass writes the acknowledgement,
whose timestamp is the process's heartbeat.

A version that does not validate (written by a newer WMS, say) is not applied: the
process keeps the one it has and reports the error in its acknowledgement.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from wms.coordination.configuration import CONFIG_CHANNEL, ConfigStore, WMSConfiguration
from wms.loops import every

__all__ = ["ConfigAgent"]

log = logging.getLogger("wms.config")


class ConfigAgent:
    """The configuration this process runs with (``current``, ``version``)."""

    def __init__(self, store: ConfigStore, *, role: str, recheck_seconds: float) -> None:
        self.store = store
        self.role = role
        self.recheck_seconds = recheck_seconds
        #: unique per process start: a restarted process is a new one
        self.process_id = f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.current = WMSConfiguration()
        self.version = 0
        self.applied_at = datetime.now(UTC)
        self.error: str | None = None
        #: times the Redis subscription was lost and made again
        self.resubscribed = 0
        self._wake = asyncio.Event()

    async def sync(self) -> int:
        """Apply the active version if it is not the applied one; acknowledge either way.
        Returns 1 when a new version was applied, else 0."""
        active = await self.store.active_version()
        changed = 0
        if active == self.version:
            self.error = None  # e.g. a version it could not apply was rolled back
        else:
            raw = await self.store.document(active)
            try:
                document = WMSConfiguration.model_validate(raw)
            except ValidationError as exc:
                error = f"version {active} not applied: {exc.error_count()} invalid field(s)"
                if error != self.error:  # once, not at every re-check
                    log.error("configuration %s", error)
                self.error = error
            else:
                self.current, self.version = document, active
                self.applied_at, self.error = datetime.now(UTC), None
                changed = 1
                log.info("configuration version %d applied", active)
        await self.store.acknowledge(
            process_id=self.process_id,
            role=self.role,
            version=self.version,
            applied_at=self.applied_at,
            error=self.error,
        )
        return changed

    def loops(self, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """The agent's loops, for ``wms.loops.start``: the re-check (woken at once by an
        announcement) and the subscription that wakes it."""
        return [
            every("configuration", self.recheck_seconds, self.sync, stop, wake=self._wake),
            self._listen(stop),
        ]

    async def withdraw(self) -> None:
        """On a clean stop: remove this process's acknowledgement (best effort)."""
        try:
            await self.store.withdraw(self.process_id)
        except Exception as exc:
            log.warning("configuration acknowledgement left behind: %s", exc)

    async def _listen(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                pubsub = self.store.redis.pubsub()
                try:
                    await pubsub.subscribe(CONFIG_CHANNEL)
                    # whatever was announced while we were not subscribed
                    self._wake.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake.set()
                finally:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.resubscribed += 1
                log.warning("configuration announcements lost (%s); subscribing again", exc)
                # not synchronisation: a pause so a Redis that is down is not hammered
                await asyncio.sleep(0.5)
