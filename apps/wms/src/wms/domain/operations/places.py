"""Where service addresses are: geocoded through Google once, then kept on the address row."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import ServiceAddress
from wms.domain.operations.routing import Point
from wms.errors import Conflict, UpstreamError
from wms.integrations.maps import GoogleMaps

__all__ = ["address_text", "locate", "point_of"]

log = logging.getLogger("wms.places")


def address_text(line1: str, postal_code: str, city: str) -> str:
    return f"{line1}, {postal_code} {city}"


def point_of(address: ServiceAddress) -> Point | None:
    if address.latitude is None or address.longitude is None:
        return None
    return address.latitude, address.longitude


async def locate(
    sessions: async_sessionmaker[AsyncSession],
    maps: GoogleMaps,
    addresses: Sequence[ServiceAddress],
    *,
    required: bool,
) -> None:
    """Geocode the addresses that have no position yet and store what was found.

    An address Google cannot find is refused (409). When Google is unreachable the
    addresses stay unplaced: an error if ``required``, else left for a later attempt.
    """
    unplaced = {a.id: a for a in addresses if point_of(a) is None}
    if not unplaced:
        return
    results = await asyncio.gather(
        *(maps.geocode(address_text(a.line1, a.postal_code, a.city)) for a in unplaced.values()),
        return_exceptions=True,
    )
    found: dict[uuid.UUID, Point] = {}
    for address, result in zip(unplaced.values(), results, strict=True):
        if isinstance(result, UpstreamError):
            if required:
                raise result
            log.warning("address %s left unplaced: %s", address.id, result.message)
        elif isinstance(result, BaseException):
            raise result
        elif result is None:
            raise Conflict(
                f"no place is known at {address.line1}, {address.postal_code} {address.city}",
                code="address_not_found",
                details=[{"field": "address", "message": f"{address.id} not found"}],
            )
        else:
            found[address.id] = result
    if not found:
        return
    async with sessions() as session, session.begin():
        for address_id, (lat, lng) in found.items():
            await session.execute(
                update(ServiceAddress)
                .where(ServiceAddress.id == address_id)
                .values(latitude=lat, longitude=lng)
            )
    for address_id, (lat, lng) in found.items():
        unplaced[address_id].latitude, unplaced[address_id].longitude = lat, lng
