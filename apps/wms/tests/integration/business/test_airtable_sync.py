"""The Airtable mirror: pickups and routes land in the base, changes follow, and a backlog
(say, from an Airtable outage) goes out in batches of ten, paced under Airtable's 5
requests a second: never a 429."""

from __future__ import annotations

from datetime import timedelta

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

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.business

#: pickups booked at once: five requests' worth, more than Airtable takes in a second
BACKLOG = 45


@pytest.fixture
def base(sims, interlock_config) -> str:
    """The base WMS mirrors to, with its two tables."""
    base_id = interlock_config.app.env["WMS_AIRTABLE_BASE_ID"]
    sims["airtable"].seed({"bases": {base_id: {"Pickups": {}, "Routes": {}}}})
    return base_id


@pytest.fixture
def since(sims) -> int:
    """The last Airtable call before the test."""
    return max((c["seq"] for c in sims["airtable"].journal()), default=0)


def records(sims, base: str, table: str) -> dict[str, dict]:
    """The table's records by their "WMS ID"."""
    rows = sims["airtable"].state()["bases"][base][table]["records"]
    return {r["fields"]["WMS ID"]: r for r in rows}


def mirrored(sims, since: int, base: str, table: str, wanted: dict) -> dict[str, dict] | None:
    """The table once every wanted record shows (at least) the wanted fields. A 429 since
    the test began fails at once: its penalty would only make the wait time out."""
    refused = [
        c["path"] for c in sims["airtable"].journal() if c["seq"] > since and c["status"] == 429
    ]
    assert not refused, f"Airtable's rate limit was hit: {refused}"
    found = records(sims, base, table)
    for key, fields in wanted.items():
        if key not in found or any(found[key]["fields"].get(k) != v for k, v in fields.items()):
            return None
    return found


def test_a_backlog_from_an_outage_goes_out_in_paced_batches_without_a_429(
    api, db, sims, base, since
):
    customer = new_customer(api)
    dispatcher = api.as_role("dispatcher")
    first = a_day(60)
    depot = new_depot(api)
    with sims["airtable"].failing(status=503):  # Airtable is down while the work goes on
        backlog = [book(dispatcher, customer, first + timedelta(days=i)) for i in range(BACKLOG)]
        route = plan(
            api,
            depot=depot,
            vehicle=new_vehicle(api, depot),
            driver=new_driver(api),
            day=first,
            pickups=backlog[:1],
        )
    outage = max(c["seq"] for c in sims["airtable"].journal())

    wanted = {p["id"]: {"Status": "scheduled"} for p in backlog[1:]}
    wanted[backlog[0]["id"]] = {"Status": "assigned", "Route ID": route["id"], "Stop": 1}
    pickups = poll(
        lambda: mirrored(sims, since, base, "Pickups", wanted),
        timeout=20,
        what=f"{BACKLOG} pickups in Airtable",
    )
    routes = poll(
        lambda: mirrored(
            sims, since, base, "Routes", {route["id"]: {"Status": "planned", "Stops": 1}}
        ),
        timeout=10,
        what="the route in Airtable",
    )

    last = backlog[-1]
    filled = {k: v for k, v in pickups[last["id"]]["fields"].items() if v is not None}
    assert filled == {
        "WMS ID": last["id"],
        "Customer ID": customer.id,
        "Address": (
            f"{last['address']['line1']}, {last['address']['postal_code']} "
            f"{last['address']['city']}"
        ),
        "Date": last["scheduled_date"],
        "Status": "scheduled",
        "Origin": "on_demand",
    }
    assert routes[route["id"]]["fields"]["Depot"] == depot["name"]
    assert routes[route["id"]]["fields"]["Provider"] == route["provider"]

    # once Airtable is back, the backlog goes out at once, but paced
    calls = [c for c in sims["airtable"].journal() if c["seq"] > outage]
    writes = [c for c in calls if c["method"] == "PATCH"]
    assert all(c["status"] == 200 for c in writes)
    sizes = [c["body"].count('"fields"') for c in writes]
    assert max(sizes) <= 10
    assert len(writes) > 5  # more than Airtable takes in a second: the pacing showed
    times = sorted(c["time"] for c in calls if c["path"].startswith(f"/v0/{base}/"))
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert busiest <= 5, f"{busiest} requests to the base within one second"
    assert (
        db.count(
            "pickups",
            "customer_id = %s AND airtable_synced_version = version",
            (customer.id,),
        )
        == BACKLOG
    )


def test_a_change_is_mirrored_onto_the_same_record(api, sims, base, since):
    customer = new_customer(api)
    day = a_day()
    pickup = book(customer.client, customer, day)
    poll(
        lambda: mirrored(sims, since, base, "Pickups", {pickup["id"]: {"Status": "scheduled"}}),
        timeout=10,
        what="the pickup in Airtable",
    )
    later = day + timedelta(days=1)
    moved = customer.client.post(
        f"/api/v1/pickups/{pickup['id']}/reschedule", json={"scheduled_date": later.isoformat()}
    )
    assert moved.status_code == 200, moved.text
    poll(
        lambda: mirrored(sims, since, base, "Pickups", {pickup["id"]: {"Date": later.isoformat()}}),
        timeout=10,
        what="the new day in Airtable",
    )
    rows = sims["airtable"].state()["bases"][base]["Pickups"]["records"]
    assert sum(1 for r in rows if r["fields"]["WMS ID"] == pickup["id"]) == 1
