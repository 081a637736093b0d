"""WMS under a steady mixed load: three streams of users at a fixed arrival rate for a minute.

Each stream is an open-model load (iterations start on schedule whatever WMS does, and
are timed from their scheduled start), so a stall shows in the percentiles; every
iteration also lands in the session's SLO table under the stream's name.
"""

from __future__ import annotations

import pytest
from tests.integration.helpers.operations import new_customer

from interlock.load import ConstantArrivalRate, Session
from interlock.load.summary import summary

pytestmark = pytest.mark.performance

#: iterations per second of each stream, and how long the streams run (seconds)
RATE, DURATION = 5, 60
SLO = ["p(95)<2000", "rate>=0.99", "p(99)<3000 over 10s"]


@pytest.mark.integration_timeout(180_000)  # a minute of load, plus set-up
def test_three_streams_hold_their_slos_for_a_minute(load, api, interlock_auth):
    person = new_customer(api)
    customer = person.record["id"]
    dispatcher = dict(interlock_auth("dispatcher"))
    billing = dict(interlock_auth("billing"))

    async def look_up_customer(s: Session) -> None:
        await s.get(f"/api/v1/customers/{customer}", headers=dispatcher, name="GET customer")

    async def list_invoices(s: Session) -> None:
        await s.get("/api/v1/invoices", headers=billing, name="GET invoices")

    async def probe_readiness(s: Session) -> None:
        await s.get("/health/ready", name="GET ready")

    def steady() -> ConstantArrivalRate:
        return ConstantArrivalRate(rate=RATE, duration=DURATION, pre_allocated_vus=5, max_vus=50)

    results = load.run_together(
        {
            "load: customer look-up": (look_up_customer, steady()),
            "load: invoice list": (list_invoices, steady()),
            "load: readiness probe": (probe_readiness, steady()),
        },
        thresholds={
            name: SLO
            for name in ("load: customer look-up", "load: invoice list", "load: readiness probe")
        },
    )

    for name, result in results.items():
        print(f"\n{summary(result)}")
        assert result.dropped == 0, f"{name}: WMS could not keep up with {RATE}/s"
        assert result.started == RATE * DURATION, name
        assert result.ok, f"{name}: {[t for t in result.thresholds if not t['ok']]}"
