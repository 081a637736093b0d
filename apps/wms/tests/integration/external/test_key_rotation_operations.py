"""Rotating the API keys of Samsara, Mapbox, Google Maps and Airtable while operations run.

Each service goes through the same three steps: (1) an admin adds a key the provider does
not know yet: WMS tries it, is refused and falls back to the old key, so the work goes on;
(2) the provider knows only the new key: it carries the work; (3) the admin revokes the old
key and the provider knows only that one: the work fails, because the revoked key is never
used again. Route planning (Mapbox, Google) runs in the API, which sees key changes at once;
GPS polling (Samsara) and the Airtable mirror run in the worker, which reads the keys again
within a second, so its steps wait for the journal to show the new keys in use.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count, pairwise
from typing import Any

import pytest
from tests.integration.helpers.operations import (
    a_day,
    book,
    new_customer,
    new_depot,
    new_driver,
    new_vehicle,
    plan,
)

from interlock.helpers.api import ApiClient
from interlock.helpers.deadline import poll
from interlock.simulators.client import SimulatorClient
from wms.integrations.keys import fingerprint

pytestmark = pytest.mark.external

#: a depot of these tests' own, so the journal tells their route requests from others'
DEPOT = (40.7262, -73.9488)
#: the configured key of each service ([tool.interlock.env])
CONFIGURED = {
    "samsara": "WMS_SAMSARA_API_TOKEN",
    "mapbox": "WMS_MAPBOX_ACCESS_TOKEN",
    "google": "WMS_GOOGLE_MAPS_API_KEY",
    "airtable": "WMS_AIRTABLE_API_TOKEN",
}
#: the seed entry that lists the keys a simulator accepts
ACCEPTED = {
    "samsara": "api_tokens",
    "mapbox": "access_tokens",
    "google": "api_keys",
    "airtable": "api_keys",
}
#: the key the admin rotates to, in each provider's format
NEW_KEY = {
    "samsara": "samsara-rotated-token-0123456789",
    "mapbox": "pk.rotated-token-0123456789",
    "google": "AIzaRotatedKey00000000000000000000000",
    "airtable": "patRotatedToken0123456789",
}


@dataclass
class Rotation:
    """One service's keys, at WMS (through the admin API) and at the provider (its seed)."""

    service: str
    admin: ApiClient
    sim: SimulatorClient
    old: str
    new: str
    new_id: str | None = None
    #: waits, run at the end, until the service works again for the tests after this one;
    #: each gets the last call to the provider before the configured key came back
    settle: list[Callable[[int], None]] = field(default_factory=list)

    def keys(self) -> list[dict[str, Any]]:
        response = self.admin.get(f"/api/v1/integrations/{self.service}/keys")
        assert response.status_code == 200, response.text
        return list(response.json())

    def provider_knows(self, *keys: str) -> None:
        self.sim.seed({ACCEPTED[self.service]: list(keys)})

    def add_new(self) -> None:
        added = self.admin.post(
            f"/api/v1/integrations/{self.service}/keys", json={"secret": self.new}
        )
        assert added.status_code == 201, added.text
        self.new_id = added.json()["id"]

    def revoke(self, key_id: str) -> None:
        revoked = self.admin.delete(f"/api/v1/integrations/{self.service}/keys/{key_id}")
        assert revoked.status_code == 204, revoked.text

    def revoke_old(self) -> None:
        old = [k for k in self.keys() if k["revoked_at"] is None and k["id"] != self.new_id]
        assert old, f"no old {self.service} key left to revoke"
        for key in old:
            self.revoke(key["id"])
        listed = {k["id"]: k for k in self.keys()}
        assert listed[str(self.new_id)]["in_use"] is True
        assert not any(listed[k["id"]]["in_use"] for k in old)

    def only_configured(self) -> None:
        """Make the configured key the one key WMS uses, whatever came before."""
        active = [k for k in self.keys() if k["revoked_at"] is None]
        if not any(k["fingerprint"] == fingerprint(self.old) for k in active):
            added = self.admin.post(
                f"/api/v1/integrations/{self.service}/keys", json={"secret": self.old}
            )
            assert added.status_code == 201, added.text
        for key in active:
            if key["fingerprint"] != fingerprint(self.old):
                self.revoke(key["id"])


@pytest.fixture
def rotate(api, sims, interlock_config) -> Iterator[Callable[[str], Rotation]]:
    """A service's rotation, begun from its configured key alone; when the test ends, the
    configured key is again the only one, at WMS and at the provider."""
    started: list[Rotation] = []

    def begin(service: str) -> Rotation:
        rotation = Rotation(
            service=service,
            admin=api.as_role("admin"),
            sim=sims[service],
            old=interlock_config.app.env[CONFIGURED[service]],
            new=NEW_KEY[service],
        )
        rotation.only_configured()
        rotation.provider_knows(rotation.old)
        started.append(rotation)
        return rotation

    yield begin
    for rotation in started:
        since = last_seq(rotation.sim)
        rotation.only_configured()
        rotation.provider_knows(rotation.old)
        for settled in rotation.settle:
            settled(since)


def last_seq(sim: SimulatorClient) -> int:
    return max((c["seq"] for c in sim.journal()), default=0)


def fell_back(calls: list[dict[str, Any]], same: str) -> bool:
    """A call refused as unauthorised, then the same call (``same``: the part that tells)
    accepted: the old key took over from the new one."""
    return any(
        a["status"] == 401 and b["status"] == 200 and a[same] == b[same] for a, b in pairwise(calls)
    )


def refused_for_good(calls: list[dict[str, Any]]) -> int | None:
    """The first of two refusals in a row: from there on no other key was tried (a
    fallback follows each refusal with an accepted call)."""
    return next((a["seq"] for a, b in pairwise(calls) if a["status"] == b["status"] == 401), None)


# -- route planning: Mapbox, then Google ------------------------------------------------------
def optimisations(sims, service: str, since: int) -> list[dict[str, Any]]:
    """Trip optimisation requests to the service for this test's depot since ``since``."""
    if service == "mapbox":
        prefix = f"/optimized-trips/v1/mapbox/driving/{DEPOT[1]:.6f},{DEPOT[0]:.6f};"
        return [
            c for c in sims["mapbox"].journal() if c["seq"] > since and c["path"].startswith(prefix)
        ]
    return [
        c
        for c in sims["google"].journal(path="/maps/api/directions/json")
        if c["seq"] > since and c["query"].get("waypoints", "").startswith("optimize:true|")
    ]


@pytest.mark.parametrize(
    ("service", "instead"),
    [("mapbox", "google"), ("google", "local")],
    ids=["mapbox", "google"],
)
def test_route_planning_survives_a_maps_key_rotation(
    api, sims, interlock_config, rotate, service, instead
):
    # three days of pickups, booked (and geocoded) before any key changes
    depot = new_depot(api, location=DEPOT)
    vehicle, driver = new_vehicle(api, depot), new_driver(api)
    dispatcher = api.as_role("dispatcher")
    customers = [new_customer(api) for _ in range(2)]
    first = a_day()
    days = [first + timedelta(days=i) for i in range(3)]
    booked = {day: [book(dispatcher, c, day, depot) for c in customers] for day in days}

    def planned(day):
        return plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=booked[day])

    rotation = rotate(service)
    if service == "google":
        # Mapbox, asked first, refuses WMS's token (a refusal, not an outage: no breaker
        # trips), so Google plans the routes
        mapbox_token = interlock_config.app.env[CONFIGURED["mapbox"]]
        sims["mapbox"].seed({"access_tokens": ["pk.someone-else"]})
        rotation.settle.append(lambda _: sims["mapbox"].seed({"access_tokens": [mapbox_token]}))

    # (1) a new key the provider does not know yet: refused, and the old key plans the route
    since = last_seq(sims[service])
    rotation.add_new()
    route = planned(days[0])
    assert route["provider"] == service
    assert route["degraded"] is False
    calls = optimisations(sims, service, since)
    assert len(calls) == 2, calls  # the new key, then the old one
    if service == "mapbox":
        assert [c["status"] for c in calls] == [401, 200]

    # (2) the provider knows only the new key: it plans, and the old key is not tried
    rotation.provider_knows(rotation.new)
    since = last_seq(sims[service])
    route = planned(days[1])
    assert route["provider"] == service
    calls = optimisations(sims, service, since)
    assert len(calls) == 1, calls
    if service == "mapbox":
        assert calls[0]["status"] == 200

    # (3) the old key is revoked: though the provider would take it, WMS never sends it
    rotation.revoke_old()
    rotation.provider_knows(rotation.old)
    since = last_seq(sims[service])
    route = planned(days[2])
    assert route["provider"] == instead
    assert route["degraded"] is (instead == "local")
    calls = optimisations(sims, service, since)
    assert len(calls) == 1, calls  # the new key alone, refused
    if service == "mapbox":
        assert calls[0]["status"] == 401


# -- GPS polling: Samsara -------------------------------------------------------------------
@pytest.fixture
def samsara_clock(sims) -> Iterator[datetime]:
    """The Samsara simulator's clock, frozen now; running again afterwards."""
    now = datetime.now(UTC).replace(microsecond=0)
    sims["samsara"].freeze_clock(now.isoformat())
    yield now
    sims["samsara"].freeze_clock(None)


def test_gps_polling_survives_a_samsara_token_rotation(api, sims, rotate, samsara_clock):
    samsara = sims["samsara"]
    samsara_id = f"2814749769{secrets.randbelow(10**6):06d}"
    depot = new_depot(api, location=DEPOT)
    vehicle = new_vehicle(api, depot, samsara_id=samsara_id)
    samsara.seed({"vehicles": [{"id": samsara_id, "name": vehicle["name"], "location": DEPOT}]})
    dispatcher = api.as_role("dispatcher")

    def position_at() -> datetime | None:
        shown = dispatcher.get(f"/api/v1/vehicles/{vehicle['id']}").json()
        position = shown.get("position")
        return datetime.fromisoformat(position["recorded_at"]) if position else None

    def polls(since: int) -> list[dict[str, Any]]:
        return [c for c in samsara.journal(path="/fleet/vehicles/stats") if c["seq"] > since]

    def advance() -> datetime:
        """The parked truck reports again, later than WMS stores a standing truck anew."""
        samsara.advance_clock(120)
        return datetime.fromisoformat(samsara.state()["now"].replace("Z", "+00:00"))

    rotation = rotate("samsara")
    rotation.settle.append(
        lambda since: poll(
            lambda: any(c["status"] == 200 for c in polls(since)),
            timeout=10,
            what="GPS polling with the configured token again",
        )
    )
    poll(lambda: position_at() == samsara_clock, timeout=10, what="the truck's first fix")

    # (1) a new token Samsara does not know yet: refused, and the old token fetches the fix
    since = last_seq(samsara)
    rotation.add_new()
    fix = advance()
    poll(
        lambda: position_at() == fix and fell_back(polls(since), "query"),
        timeout=15,
        what="the fix fetched with the old token after Samsara refused the new one",
    )

    # (2) Samsara knows only the new token: it fetches the fix, without a refusal
    rotation.provider_knows(rotation.new)
    since = last_seq(samsara)
    fix = advance()
    poll(lambda: position_at() == fix, timeout=15, what="the fix fetched with the new token")
    assert {c["status"] for c in polls(since)} == {200}
    stored = fix

    # (3) the old token is revoked: though Samsara would take it, WMS never sends it again
    rotation.revoke_old()
    rotation.provider_knows(rotation.old)
    since = last_seq(samsara)
    # the worker reads the keys again within a second: then only the new token is tried
    fresh = poll(
        lambda: refused_for_good(polls(since)),
        timeout=15,
        what="GPS polls refused with no fallback to the revoked token",
    )
    fix = advance()
    after = last_seq(samsara)
    poll(lambda: len(polls(after)) >= 3, timeout=15, what="three GPS polls of the moved clock")
    assert {c["status"] for c in polls(fresh - 1)} == {401}
    assert position_at() == stored != fix


# -- the Airtable mirror --------------------------------------------------------------------
def test_airtable_mirror_survives_a_token_rotation(api, db, sims, interlock_config, rotate):
    airtable = sims["airtable"]
    base = interlock_config.app.env["WMS_AIRTABLE_BASE_ID"]
    airtable.seed({"bases": {base: {"Pickups": {}, "Routes": {}}}})
    customer = new_customer(api)
    dispatcher = api.as_role("dispatcher")
    days = count(start=1)
    first = a_day()

    def booked() -> dict[str, Any]:
        return book(dispatcher, customer, first + timedelta(days=next(days)))

    def mirrored(pickup: dict[str, Any]) -> bool:
        rows = airtable.state()["bases"][base]["Pickups"]["records"]
        return any(r["fields"]["WMS ID"] == pickup["id"] for r in rows)

    def unmirrored() -> int:
        return db.count(
            "pickups", "customer_id = %s AND airtable_synced_version < version", (customer.id,)
        )

    def writes(since: int) -> list[dict[str, Any]]:
        return [c for c in airtable.journal(method="PATCH") if c["seq"] > since]

    def keep_busy() -> None:
        """Something for the mirror to send, so its requests show which key it uses."""
        if not unmirrored():
            booked()

    rotation = rotate("airtable")
    rotation.settle.append(
        lambda _: poll(lambda: not unmirrored(), timeout=15, what="the test's pickups mirrored")
    )
    pickup = booked()
    poll(lambda: mirrored(pickup), timeout=10, what="the first pickup in Airtable")

    # (1) a new token Airtable does not know yet: refused, and the old token sends the batch
    since = last_seq(airtable)
    rotation.add_new()

    def fallen_back() -> bool | None:
        if fell_back(writes(since), "body") and not unmirrored():
            return True
        keep_busy()
        return None

    poll(fallen_back, timeout=15, what="a batch sent with the old token after a refusal")

    # (2) Airtable knows only the new token: it sends the batch, without a refusal
    rotation.provider_knows(rotation.new)
    since = last_seq(airtable)
    pickup = booked()
    poll(lambda: mirrored(pickup), timeout=10, what="a pickup sent with the new token")
    assert {c["status"] for c in writes(since)} == {200}

    # (3) the old token is revoked: though Airtable would take it, WMS never sends it again
    rotation.revoke_old()
    rotation.provider_knows(rotation.old)
    since = last_seq(airtable)

    def refused() -> int | None:
        fresh = refused_for_good(writes(since))
        if fresh is None:
            keep_busy()
        return fresh

    # the worker reads the keys again within a second: then only the new token is tried
    fresh = poll(refused, timeout=15, what="batches refused with no fallback to the old token")
    pickup = booked()
    poll(
        lambda: sum(pickup["id"] in c["body"] for c in writes(fresh)) >= 2,
        timeout=15,
        what="two passes of the mirror at the last pickup",
    )
    assert {c["status"] for c in writes(fresh - 1)} == {401}
    assert not mirrored(pickup)
