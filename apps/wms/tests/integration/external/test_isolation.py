"""No test meets what another left behind: WMS's shared state is put back before each test.

The first tests here each leave WMS as a careless test would (a breaker open, a key the
provider refuses, maintenance on, an account locked out) and the last one, run after
them on the same stack, checks that it starts as on a fresh stack. In any other order
(pytest-randomly, another worker) they still pass; in this one, without the per-test
reset (``pytest_interlock_reset`` in tests/integration/conftest.py), the last one fails.
"""

from __future__ import annotations

import uuid

import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

# one worker runs all of them, so the last one meets the stack the others left
pytestmark = [pytest.mark.external, pytest.mark.xdist_group("isolation")]

ONBOARD = "/api/v1/customers"
#: an account locked out by the test that leaves too many failed logins behind
LOCKED_OUT = f"locked-out-{uuid.uuid4().hex[:8]}@example.com"


def integration(api, name: str) -> dict:
    listed = api.as_role("admin").get("/api/v1/integrations")
    assert listed.status_code == 200, listed.text
    return next(i for i in listed.json() if i["name"] == name)


def test_leaves_the_stripe_breaker_open(api, sims):
    admin = api.as_role("admin")
    sims["stripe"].add_fault("status", status=500)

    def opened() -> bool:
        response = admin.post(ONBOARD, json=customer_payload())
        assert response.status_code == 503, response.text
        return bool(response.json()["error"]["code"] == "circuit_open")

    poll(opened, timeout=15, what="the Stripe breaker to open")
    # the fault ends with the test (the sims fixture); the breaker stays open


def test_leaves_a_stripe_key_stripe_refuses(api):
    added = api.as_role("admin").post(
        "/api/v1/integrations/stripe/keys", json={"secret": f"sk_live_{uuid.uuid4().hex}"}
    )
    assert added.status_code == 201, added.text


def test_leaves_maintenance_on(api):
    put = api.as_role("admin").put(
        "/api/v1/config",
        json={"document": {"maintenance": True, "maintenance_message": "moving data"}},
    )
    assert put.status_code == 200, put.text


def test_leaves_an_account_locked_out(api, stack, interlock_config):
    limit = interlock_config.security["login"]["per_account"]
    for _ in range(limit):
        api.post("/api/v1/auth/token", json={"email": LOCKED_OUT, "password": "wrong-password"})
    again = api.post("/api/v1/auth/token", json={"email": LOCKED_OUT, "password": "x" * 12})
    assert again.status_code == 429, again.text


def test_a_test_after_them_meets_a_fresh_stack(api, sims):
    admin = api.as_role("admin")
    assert integration(api, "stripe")["breaker"] == "closed"
    assert admin.get("/api/v1/config").json()["active"]["document"]["maintenance"] is False
    calls_before = len(sims["stripe"].journal(path="/v1/customers", method="POST"))
    onboarded = admin.post(ONBOARD, json=customer_payload())
    assert onboarded.status_code == 201, onboarded.text
    calls = sims["stripe"].journal(path="/v1/customers", method="POST")[calls_before:]
    # one call, with the configured key: no key Stripe refuses tried first
    assert [c["status"] for c in calls] == [200]
    login = api.post("/api/v1/auth/token", json={"email": LOCKED_OUT, "password": "x" * 12})
    assert login.status_code == 401, login.text  # no such account, and no longer locked out
