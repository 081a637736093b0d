"""Google's ``address_components``, read from a formatted address.

Google answers every geocoding result with the parts of its address, each with
``long_name``, ``short_name`` and ``types`` (Geocoding API reference, "Geocoding
responses"); the simulator reads them from the comma-separated address it was given.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["address_components"]

#: country names as addresses end -> (long name, ISO code), as Google writes them
COUNTRIES = {
    "usa": ("United States", "US"),
    "us": ("United States", "US"),
    "united states": ("United States", "US"),
    "uk": ("United Kingdom", "GB"),
    "united kingdom": ("United Kingdom", "GB"),
    "canada": ("Canada", "CA"),
    "germany": ("Germany", "DE"),
    "france": ("France", "FR"),
}
_STREET = re.compile(r"^(\d+[A-Za-z]?(?:-\d+)?)\s+(.+)$")
_REGION_POSTCODE = re.compile(r"^([A-Za-z]{2,3})\s+([A-Za-z0-9][A-Za-z0-9 -]{2,9})$")


def _component(name: str, types: list[str], short: str | None = None) -> dict[str, Any]:
    return {"long_name": name, "short_name": short or name, "types": types}


def address_components(formatted: str) -> list[dict[str, Any]]:
    """Google's ``address_components`` read from a comma-separated address, e.g.
    ``"12 Main St, Austin, TX 78701, USA"``: street number, route, locality, state
    (administrative_area_level_1), postal code and country, those the address has."""
    parts = [part.strip() for part in formatted.split(",") if part.strip()]
    components: list[dict[str, Any]] = []
    if not parts:
        return components
    street = _STREET.match(parts[0])
    if street:
        components += [
            _component(street.group(1), ["street_number"]),
            _component(street.group(2), ["route"]),
        ]
    else:
        components.append(_component(parts[0], ["route"]))
    rest = parts[1:]
    country = COUNTRIES.get(rest[-1].lower()) if rest else None
    if country:
        rest.pop()
    region = _REGION_POSTCODE.match(rest[-1]) if rest else None
    if region:
        rest.pop()
    if rest:
        components.append(_component(rest[0], ["locality", "political"]))
    for part in rest[1:]:
        components.append(_component(part, ["administrative_area_level_2", "political"]))
    if region:
        state = region.group(1).upper()
        components.append(_component(state, ["administrative_area_level_1", "political"]))
        components.append(_component(region.group(2), ["postal_code"]))
    if country:
        components.append(_component(country[0], ["country", "political"], country[1]))
    return components
