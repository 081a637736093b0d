"""Fault calls written as plain statements act at once, and the test's end undoes them."""

from __future__ import annotations

import httpx
import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.workflow


def ready(stack) -> int:
    return httpx.get(f"{stack.app_url}/health/ready", timeout=5).status_code


def test_redis_down_as_a_statement_takes_redis_away_from_the_app(stack, faults):
    faults["redis"].down()  # no with: down until reset, as the fixture does at the end
    poll(lambda: ready(stack) == 503, timeout=10, what="readiness to go false")
    faults["redis"].reset()
    poll(lambda: ready(stack) == 200, timeout=10, what="readiness to come back")


def test_a_simulator_fault_as_a_statement_reaches_the_app(api, sims):
    sims["twilio"].failing(status=500)  # removed by the sims fixture when the test ends
    response = api.as_role("dispatcher").post("/api/v1/customers", json=customer_payload())
    assert response.status_code == 201, response.text
    statuses = {n["channel"]: n["status"] for n in response.json()["notifications"]}
    assert statuses == {"email": "sent", "sms": "failed"}
