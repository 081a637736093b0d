"""The official stripe SDK against the Stripe simulator: objects, paging, idempotency, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from interlock.simulators.threaded import ThreadedSimulator


@pytest.fixture
def server() -> Iterator[ThreadedSimulator]:
    with ThreadedSimulator("stripe") as running:
        yield running


def client(server: ThreadedSimulator, key: str = "sk_test_contract") -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


def test_customer_is_created_read_updated_and_deleted(server):
    sdk = client(server)
    created = sdk.v1.customers.create(
        params={"email": "ann@example.com", "name": "Ann", "metadata": {"bin": "B-17"}}
    )
    assert created.id.startswith("cus_")
    assert sdk.v1.customers.retrieve(created.id).metadata["bin"] == "B-17"
    updated = sdk.v1.customers.update(created.id, params={"name": "Ann B"})
    assert updated.name == "Ann B"
    assert sdk.v1.customers.delete(created.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.v1.customers.retrieve(created.id)
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


def test_auto_paging_walks_every_page(server):
    sdk = client(server)
    ids = {sdk.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(23)}
    page = sdk.v1.customers.list(params={"limit": 10})
    assert len(page.data) == 10
    assert page.has_more
    assert {c.id for c in page.auto_paging_iter()} == ids


def test_same_idempotency_key_replays_the_first_result(server):
    sdk = client(server)
    options = {"idempotency_key": "onboard-42"}
    first = sdk.v1.customers.create(params={"email": "x@example.com"}, options=options)
    second = sdk.v1.customers.create(params={"email": "x@example.com"}, options=options)
    assert first.id == second.id
    assert len(server.sim.state()["customers"]) == 1
    replay = [e for e in server.sim.journal if e["method"] == "POST"][-1]
    assert replay["headers"]["Idempotency-Key"] == "onboard-42"


def test_same_key_with_other_parameters_is_an_idempotency_error(server):
    sdk = client(server)
    sdk.v1.customers.create(params={"email": "x@example.com"}, options={"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError) as info:
        sdk.v1.customers.create(
            params={"email": "y@example.com"}, options={"idempotency_key": "k1"}
        )
    assert "Keys for idempotent requests" in str(info.value)


def test_wrong_key_is_an_authentication_error(server):
    with pytest.raises(stripe.AuthenticationError) as info:
        client(server, key="rk_live_wrong_key_123456").v1.customers.list()
    assert "Invalid API Key provided" in str(info.value)


def test_injected_server_error_reaches_the_sdk_as_api_error(server):
    from interlock.simulators.faults import FaultRule

    server.sim.faults.add(FaultRule(kind="status", status=500, times=1))
    with pytest.raises(stripe.APIError):
        client(server).v1.customers.list()
    assert client(server).v1.customers.list().data == []


def test_rate_limit_fault_is_a_rate_limit_error_with_retry_after(server):
    from interlock.simulators.faults import FaultRule

    server.sim.faults.add(FaultRule(kind="rate_limit", retry_after=3, times=1))
    with pytest.raises(stripe.RateLimitError) as info:
        client(server).v1.customers.list()
    assert info.value.headers["Retry-After"] == "3"


def test_journal_never_holds_the_api_key(server):
    client(server, key="sk_test_secret_value_987").v1.customers.list()
    assert "sk_test_secret_value_987" not in repr(server.sim.journal)
