"""Airtable: pickups and routes mirrored to two tables of one base, through ``pyairtable``.

Airtable takes 5 requests a second per base and answers the next with 429 and a
30-second penalty. The mirror upserts at most 10 records a request (Airtable's batch
limit, matched on the "WMS ID" field) and paces requests with a sliding window below the
limit, so it never earns the penalty; should a 429 come anyway (another client of the
base), it sits the penalty out. A row is due while its ``version`` is ahead of the
version last mirrored, so nothing is lost when Airtable is down: it is sent later.

The API token rotates (``wms.integrations.keys``): a token Airtable does not know (401)
gives way to the one it replaces, and that second request is paced like any other.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from pyairtable import Api
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import ServiceAddress, User
from wms.db.operations_models import Depot, Pickup, Route, Vehicle
from wms.errors import UpstreamError
from wms.integrations import ExternalService, external_service
from wms.integrations.keys import KeyedClients, KeyRing
from wms.integrations.resilience import Permanent, Transient
from wms.settings import Settings

__all__ = ["KEY_FIELD", "AirtableMirror", "Pacer"]

log = logging.getLogger("wms.integrations.sync")

#: the field records are matched on when upserting
KEY_FIELD = "WMS ID"
#: Airtable's most records per write request
BATCH = 10


class Pacer:
    """At most ``limit`` starts in any ``window`` seconds; ``wait()`` before each request
    (``wait_blocking()`` on a worker thread)."""

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, limit)
        self.window = window
        self.clock = clock
        self._starts: deque[float] = deque(maxlen=self.limit)
        self._lock = threading.Lock()  # wait() runs on the loop, wait_blocking() in threads

    def _book(self) -> float:
        """Book the next start, now or once the window allows; the seconds until then."""
        with self._lock:
            now = self.clock()
            start = now
            if len(self._starts) == self.limit:
                start = max(now, self._starts[0] + self.window)
            self._starts.append(start)
            return start - now

    async def wait(self) -> None:
        delay = self._book()
        if delay > 0:
            await asyncio.sleep(delay)

    def wait_blocking(self) -> None:
        delay = self._book()
        if delay > 0:
            time.sleep(delay)


@dataclass(frozen=True)
class _Kind:
    """One mirrored table: its model, its Airtable name and how a row becomes fields."""

    model: type[Pickup] | type[Route]
    table: str
    load: Callable[[AsyncSession], Any]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _due_pickups(session: AsyncSession) -> list[tuple[Any, int, dict[str, Any]]]:
    rows = await session.execute(
        select(Pickup, ServiceAddress)
        .join(ServiceAddress, ServiceAddress.id == Pickup.address_id)
        .where(Pickup.airtable_synced_version < Pickup.version)
        .order_by(Pickup.updated_at)
        .limit(BATCH)
    )
    return [
        (
            p.id,
            p.version,
            {
                KEY_FIELD: str(p.id),
                "Customer ID": str(p.customer_id),
                "Address": f"{a.line1}, {a.postal_code} {a.city}",
                "Date": p.scheduled_date.isoformat(),
                "Status": p.status,
                "Origin": p.origin,
                "Route ID": str(p.route_id) if p.route_id else None,
                "Stop": p.sequence,
                "Planned ETA": _iso(p.planned_eta),
                "Completed At": _iso(p.completed_at),
                "Photo": p.proof_photo_ref,
                "Missed Reason": p.missed_reason,
            },
        )
        for p, a in rows
    ]


async def _due_routes(session: AsyncSession) -> list[tuple[Any, int, dict[str, Any]]]:
    stops = (
        select(func.count())
        .select_from(Pickup)
        .where(Pickup.route_id == Route.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Route, Depot.name, Vehicle.name, User.email, stops)
        .join(Depot, Depot.id == Route.depot_id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .join(User, User.id == Route.driver_id)
        .where(Route.airtable_synced_version < Route.version)
        .order_by(Route.updated_at)
        .limit(BATCH)
    )
    return [
        (
            r.id,
            r.version,
            {
                KEY_FIELD: str(r.id),
                "Date": r.service_date.isoformat(),
                "Depot": depot,
                "Vehicle": vehicle,
                "Driver": driver,
                "Status": r.status,
                "Provider": r.provider,
                "Degraded": r.degraded,
                "Stops": count,
                "Distance km": round(r.distance_m / 1000, 2),
                "Duration min": round(r.duration_s / 60, 1),
            },
        )
        for r, depot, vehicle, driver, count in rows
    ]


def _refused(exc: Exception) -> bool:
    """Airtable does not know the token (401): nothing was done, another token may do."""
    return (
        isinstance(exc, requests.HTTPError)
        and exc.response is not None
        and exc.response.status_code == 401
    )


class AirtableMirror:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        keys: Mapping[str, KeyRing] | None = None,
    ) -> None:
        self.sessions = sessions
        self.service: ExternalService = external_service("airtable", settings)
        self.base_id = settings.airtable_base_id
        timeout = math.ceil(self.service.policy.timeout)
        endpoint = settings.airtable_api_base.rstrip("/")
        self.clients = KeyedClients(
            "airtable",
            # no SDK retries: a retry is a request the pacer did not grant
            lambda token: Api(
                token, timeout=(timeout, timeout), retry_strategy=None, endpoint_url=endpoint
            ),
            refused=_refused,
            rings=keys,
            default=settings.airtable_api_token.get_secret_value(),
        )
        self.kinds = (
            _Kind(Pickup, settings.airtable_pickups_table, _due_pickups),
            _Kind(Route, settings.airtable_routes_table, _due_routes),
        )
        self.pacer = Pacer(int(settings.airtable_requests_per_second))
        self.penalty_s = settings.airtable_penalty_seconds
        self._resume_at = 0.0
        self._failing: set[str] = set()

    @property
    def configured(self) -> bool:
        """A token and a base to mirror to."""
        return self.clients.configured and bool(self.base_id)

    async def sync_once(self) -> int:
        """Mirror every due pickup and route; returns how many records were sent."""
        if not self.configured or time.monotonic() < self._resume_at:
            return 0
        sent = 0
        for kind in self.kinds:
            while True:
                async with self.sessions() as session:
                    due = await kind.load(session)
                if not due:
                    break
                try:
                    await self._upsert(kind.table, [fields for _, _, fields in due])
                except UpstreamError as exc:
                    if kind.table not in self._failing:  # say it once, not every pass
                        log.warning("Airtable table %s not mirrored: %s", kind.table, exc.message)
                        self._failing.add(kind.table)
                    if time.monotonic() < self._resume_at:
                        return sent
                    break
                self._failing.discard(kind.table)
                await self._mark(kind.model, [(row_id, version) for row_id, version, _ in due])
                sent += len(due)
                if len(due) < BATCH:
                    break
        return sent

    async def _upsert(self, table_name: str, records: Sequence[dict[str, Any]]) -> None:
        keys = await self.clients.keys()
        refused: list[int] = []
        requests_made = 0

        def upsert(api: Api) -> None:
            nonlocal requests_made
            if requests_made:  # the older token's try is one more request to pace
                self.pacer.wait_blocking()
            requests_made += 1
            api.table(self.base_id, table_name).batch_upsert(
                [{"fields": f} for f in records], key_fields=[KEY_FIELD]
            )

        def send() -> None:
            try:
                self.clients.run(keys, upsert)
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                refused.append(status)
                text = f"airtable answered {status}: {exc}"
                raise (
                    Transient(text) if status == 429 or status >= 500 else Permanent(text)
                ) from None
            except requests.RequestException as exc:
                raise Transient(f"airtable unreachable: {type(exc).__name__}") from None

        await self.pacer.wait()
        try:
            # never retried here: the next pass sends the same rows again, paced
            await self.service.call(send, idempotent=False)
        except UpstreamError:
            if 429 in refused:
                self._resume_at = time.monotonic() + self.penalty_s
            raise

    async def _mark(
        self, model: type[Pickup] | type[Route], rows: Sequence[tuple[Any, int]]
    ) -> None:
        async with self.sessions() as session, session.begin():
            # in id order, as route planning locks pickups: two orders would deadlock
            for row_id, version in sorted(rows, key=lambda row: str(row[0])):
                # a bare UPDATE, which leaves the version (and the row's mirror state) alone
                await session.execute(
                    update(model)
                    .where(model.id == row_id, model.airtable_synced_version < version)
                    .values(airtable_synced_version=version)
                )
