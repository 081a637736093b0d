"""Rotating Stripe's API key while payments flow: no call fails, every change is audited."""

from __future__ import annotations

import secrets
import threading
import time

import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.external

NEW_KEY = "sk_test_rotated_key_0123456789"


@pytest.fixture
def stripe_key_put_back(api, sims, starting_keys, interlock_config):
    """When the test ends, WMS and Stripe know the configured key alone again, as the tests
    after this one expect: a key WMS uses that Stripe refuses fails or doubles their calls."""
    yield
    sims["stripe"].seed({"api_keys": [interlock_config.app.env["WMS_STRIPE_API_KEY"]]})
    starting_keys.restore(api.as_role("admin"))


@pytest.mark.usefixtures("stripe_key_put_back")
def test_rotation_fails_no_call_and_revocation_retires_the_old_key(api, sims, db, interlock_config):
    admin = api.as_role("admin")
    old_key = interlock_config.app.env["WMS_STRIPE_API_KEY"]
    sims["stripe"].seed({"api_keys": [old_key]})  # the provider knows only the old key
    outcomes: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            outcomes.append(admin.post("/api/v1/customers", json=customer_payload()).status_code)

    def three_more_calls() -> None:
        # waits without spinning: a busy loop here would starve the traffic it waits for
        calls = len(outcomes)
        poll(
            lambda: len(outcomes) >= calls + 3 or not worker.is_alive(),
            timeout=30,
            what="three more onboardings",
        )
        assert worker.is_alive()

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        added = admin.post("/api/v1/integrations/stripe/keys", json={"secret": NEW_KEY})
        assert added.status_code == 201, added.text
        new_id = added.json()["id"]
        # WMS uses the new key at once; Stripe refuses it, so the old key carries the calls
        three_more_calls()
        sims["stripe"].seed({"api_keys": [old_key, NEW_KEY]})  # activated at the provider
        three_more_calls()
        sims["stripe"].seed({"api_keys": [NEW_KEY]})  # the provider retires the old key
        three_more_calls()
    finally:
        stop.set()
        worker.join(timeout=30)
    assert outcomes
    assert set(outcomes) == {201}, f"{outcomes.count(201)} of {len(outcomes)} succeeded"

    keys = admin.get("/api/v1/integrations/stripe/keys").json()
    old = next(k for k in keys if k["id"] != new_id and k["revoked_at"] is None)
    assert admin.delete(f"/api/v1/integrations/stripe/keys/{old['id']}").status_code == 204
    listed = {k["id"]: k for k in admin.get("/api/v1/integrations/stripe/keys").json()}
    assert listed[new_id]["in_use"] is True
    assert listed[old["id"]]["in_use"] is False
    assert all(NEW_KEY not in str(k) and old_key not in str(k) for k in listed.values())
    actions = [
        r["action"]
        for r in db.query(
            "SELECT action FROM audit_log WHERE action LIKE 'integration_key_%' "
            "AND details->>'service' = 'stripe' ORDER BY at"
        )
    ]
    assert actions[-2:] == ["integration_key_added", "integration_key_revoked"]
    stripe = next(i for i in admin.get("/api/v1/integrations").json() if i["name"] == "stripe")
    assert stripe["key_age_seconds"] is not None
    assert api.as_role("dispatcher").get("/api/v1/integrations/stripe/keys").status_code == 403


def test_a_frozen_database_does_not_stall_calls_to_the_providers(api, faults):
    """Keys live in the database; with it frozen, calls go on with the keys known last."""
    admin = api.as_role("admin")
    # a key added (and so OTX's keys to be reloaded at its next call), not yet known to OTX
    added = admin.post("/api/v1/integrations/otx/keys", json={"secret": secrets.token_hex(32)})
    assert added.status_code == 201, added.text
    postgres = faults.process("postgres")
    postgres.pause()
    try:
        began = time.perf_counter()
        ip = f"45.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.7"  # not cached
        verdict = admin.get(f"/api/v1/security/ips/{ip}", timeout=10)
        elapsed = time.perf_counter() - began
    finally:
        postgres.resume()
        gone = admin.delete(f"/api/v1/integrations/otx/keys/{added.json()['id']}")
        assert gone.status_code == 204, gone.text
    assert verdict.status_code == 200, verdict.text
    otx = next(f for f in verdict.json()["feeds"] if f["feed"] == "otx")
    assert otx["status"] == "answered", otx  # with the key known before the freeze
    assert elapsed < 5, f"the lookup took {elapsed:.1f} s"
