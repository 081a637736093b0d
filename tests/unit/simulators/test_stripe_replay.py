"""The Stripe simulator stores an answer its own endpoint failed with, and replays it.

A unit test of the simulator's internals: the failure is injected inside the endpoint
(where no fault rule reaches, as those answer before the endpoint runs).
"""

from __future__ import annotations

import pytest
import stripe

from interlock.simulators.threaded import ThreadedSimulator


def test_server_error_inside_the_endpoint_is_stored_and_replayed(monkeypatch):
    def broken(*args):
        raise RuntimeError("ledger unavailable")

    with ThreadedSimulator("stripe") as server:
        client = stripe.StripeClient(
            "sk_test_unit", base_addresses={"api": server.url}, max_network_retries=0
        )
        monkeypatch.setattr(server.sim, "_confirm", broken)
        params = {
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
        options = {"idempotency_key": "boom"}
        with pytest.raises(stripe.APIError) as first:
            client.v1.payment_intents.create(params=params, options=options)
        monkeypatch.undo()
        with pytest.raises(stripe.APIError) as second:
            client.v1.payment_intents.create(params=params, options=options)
    assert (first.value.http_status, second.value.http_status) == (500, 500)
    assert second.value.headers["Idempotent-Replayed"] == "true"
