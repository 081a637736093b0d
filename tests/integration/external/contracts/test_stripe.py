"""The official stripe SDK against the Stripe simulator: payments, idempotency, webhooks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

from interlock.errors import ConfigError
from interlock.helpers.deadline import poll
from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "stripe"


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``timeout`` seconds."""
    return poll(check, timeout=timeout, what="the condition")


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
    # Stripe keeps a deleted customer retrievable as a stub (API reference: "Retrieve a
    # customer": "returns a Customer object ... deleted: true")
    gone = sdk.v1.customers.retrieve(created.id)
    assert (gone.id, gone.deleted) == (created.id, True)
    assert created.id not in {c.id for c in sdk.v1.customers.list().auto_paging_iter()}


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


# -- payments ----------------------------------------------------------------------------
def test_confirm_on_create_payment_succeeds_with_a_captured_charge(server):
    sdk = client(server)
    customer = sdk.v1.customers.create(params={"email": "ann@example.com"})
    intent = sdk.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "off_session": True,
            "metadata": {"invoice": "INV-7"},
        }
    )
    assert intent.status == "succeeded"
    assert intent.amount_received == 2500
    assert intent.metadata["invoice"] == "INV-7"
    charge = sdk.v1.charges.retrieve(intent.latest_charge)
    assert charge.id.startswith("ch_")
    assert (charge.paid, charge.captured, charge.amount_captured) == (True, True, 2500)
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_decline_is_a_card_error_and_leaves_the_intent_awaiting_a_payment_method(server):
    sdk = client(server)
    with pytest.raises(stripe.CardError) as info:
        sdk.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    assert info.value.http_status == 402
    assert info.value.code == "card_declined"
    assert info.value.error.decline_code == "generic_decline"
    embedded = info.value.error.payment_intent
    assert embedded.status == "requires_payment_method"
    intent = sdk.v1.payment_intents.retrieve(embedded.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "generic_decline"
    assert intent.amount_received == 0


def test_with_attach_checks_a_declining_card_is_refused_before_any_charge(server, control):
    control.seed({"attach_checks": True})
    sdk = client(server)
    customer = sdk.v1.customers.create(params={"email": "bob@example.com"})
    card = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000009995", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        }
    )
    assert (card.object, card.card.last4, card.customer) == ("payment_method", "9995", None)
    with pytest.raises(stripe.CardError) as info:
        sdk.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    assert info.value.error.decline_code == "insufficient_funds"
    assert sdk.v1.payment_methods.retrieve(card.id).customer is None


@pytest.mark.parametrize("saved", ["pm_card_chargeCustomerFail"])
def test_saved_card_that_fails_when_charged_then_a_good_card_pays(server, saved):
    sdk = client(server)
    customer = sdk.v1.customers.create(params={"email": "cy@example.com"})
    card = sdk.v1.payment_methods.attach(saved, params={"customer": customer.id})
    assert sdk.v1.payment_methods.retrieve(card.id).customer == customer.id
    intent = sdk.v1.payment_intents.create(
        params={
            "amount": 900,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": card.id,
        }
    )
    assert intent.status == "requires_confirmation"
    with pytest.raises(stripe.CardError) as info:
        sdk.v1.payment_intents.confirm(intent.id)
    assert info.value.error.decline_code == "generic_decline"
    retried = sdk.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded"


def test_manual_capture_holds_the_amount_until_captured(server):
    sdk = client(server)
    intent = sdk.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )
    assert (intent.status, intent.amount_capturable, intent.amount_received) == (
        "requires_capture",
        1000,
        0,
    )
    captured = sdk.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 700})
    assert (captured.status, captured.amount_received) == ("succeeded", 700)
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.v1.payment_intents.capture(intent.id)
    assert info.value.code == "payment_intent_unexpected_state"


def test_cancel_ends_an_unpaid_intent_and_cannot_be_repeated(server):
    sdk = client(server)
    intent = sdk.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    assert intent.status == "requires_payment_method"
    canceled = sdk.v1.payment_intents.cancel(intent.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        sdk.v1.payment_intents.cancel(intent.id)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": 49, "currency": "usd"}, "amount"),
        ({"amount": "ten", "currency": "usd"}, "amount"),
        ({"amount": 1000}, "currency"),
        ({"amount": 1000, "currency": "usd", "capture_method": "later"}, "capture_method"),
        ({"amount": 1000, "currency": "usd", "payment_method": "pm_nope"}, "payment_method"),
    ],
)
def test_invalid_payment_intent_is_refused_naming_the_parameter(server, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client(server).v1.payment_intents.create(params=params)
    assert info.value.http_status == 400
    assert info.value.param == param
    assert server.sim.state()["payment_intents"] == []


def test_payment_intents_are_listed_by_customer_page_by_page(server):
    sdk = client(server)
    ann, bob = (sdk.v1.customers.create(params={"name": n}).id for n in ("Ann", "Bob"))
    mine = {
        sdk.v1.payment_intents.create(
            params={"amount": 100 + i, "currency": "usd", "customer": ann}
        ).id
        for i in range(5)
    }
    sdk.v1.payment_intents.create(params={"amount": 100, "currency": "usd", "customer": bob})
    page = sdk.v1.payment_intents.list(params={"customer": ann, "limit": 2})
    assert (page.object, page.url, len(page.data), page.has_more) == (
        "list",
        "/v1/payment_intents",
        2,
        True,
    )
    assert {intent.id for intent in page.auto_paging_iter()} == mine


def test_partial_then_full_refund_and_an_over_refund_is_refused(server):
    sdk = client(server)
    intent = sdk.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    partial = sdk.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 500, "reason": "requested_by_customer"}
    )
    assert (partial.object, partial.amount, partial.status) == ("refund", 500, "succeeded")
    assert partial.charge == intent.latest_charge
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1600})
    assert info.value.param == "amount"
    assert "($16.00 usd) is greater than unrefunded amount on charge ($15.00 usd)" in str(
        info.value
    )
    rest = sdk.v1.refunds.create(params={"charge": intent.latest_charge})
    assert rest.amount == 1500
    assert sdk.v1.refunds.retrieve(rest.id).payment_intent == intent.id
    charge = sdk.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (2000, True)
    listed = sdk.v1.refunds.list(params={"payment_intent": intent.id})
    assert {r.id for r in listed.data} == {partial.id, rest.id}
    with pytest.raises(stripe.InvalidRequestError) as again:
        sdk.v1.refunds.create(params={"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"


# -- idempotency -------------------------------------------------------------------------
DECLINED = {
    "amount": 1000,
    "currency": "usd",
    "payment_method": "pm_card_chargeDeclined",
    "confirm": True,
}


def test_same_key_replays_a_decline_identically(server):
    sdk = client(server)
    options = {"idempotency_key": "charge-inv-9"}
    with pytest.raises(stripe.CardError) as first:
        sdk.v1.payment_intents.create(params=DECLINED, options=options)
    with pytest.raises(stripe.CardError) as second:
        sdk.v1.payment_intents.create(params=DECLINED, options=options)
    assert second.value.json_body == first.value.json_body
    assert second.value.headers["Idempotent-Replayed"] == "true"
    assert second.value.request_id == first.value.request_id
    assert len(server.sim.state()["payment_intents"]) == 1


def test_validation_failure_is_not_stored_so_the_key_can_be_retried(server):
    sdk = client(server)
    options = {"idempotency_key": "fix-and-retry"}
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.payment_intents.create(params={"amount": 10, "currency": "usd"}, options=options)
    fixed = sdk.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}, options=options
    )
    assert fixed.amount == 1000


def test_concurrent_request_with_a_key_in_flight_is_a_conflict(server, control):
    control.seed({"processing_delay": 0.3})
    options = {"idempotency_key": "double-click"}
    params = {"email": "twice@example.com"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(client(server).v1.customers.create, params=params, options=options)
        eventually(lambda: control.state()["idempotency_in_flight"] == ["double-click"])
        with pytest.raises(stripe.APIError) as info:
            client(server).v1.customers.create(params=params, options=options)
        created = first.result(timeout=5)
    assert info.value.http_status == 409
    assert info.value.error.code == "idempotency_key_in_use"
    replay = client(server).v1.customers.create(params=params, options=options)
    assert replay.id == created.id


def test_key_is_forgotten_after_its_ttl(server, control):
    control.seed({"idempotency_ttl": 0})
    sdk = client(server)
    options = {"idempotency_key": "old"}
    first = sdk.v1.customers.create(params={"email": "a@example.com"}, options=options)
    second = sdk.v1.customers.create(params={"email": "b@example.com"}, options=options)
    assert first.id != second.id


def test_keys_of_different_api_keys_do_not_collide(server):
    options = {"idempotency_key": "shared"}
    one = client(server, "sk_test_one").v1.customers.create(params={"name": "A"}, options=options)
    two = client(server, "sk_test_two").v1.customers.create(params={"name": "B"}, options=options)
    assert one.id != two.id


# -- rate limit --------------------------------------------------------------------------
def test_rate_limit_when_enabled_answers_429_rate_limit(server, control):
    control.seed({"rate_limit": 3})
    server.sim.clock = lambda: 1000.0  # every call lands in the same second
    sdk = client(server)
    for _ in range(3):
        sdk.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as info:
        sdk.v1.customers.list()
    assert info.value.http_status == 429
    assert info.value.error.code == "rate_limit"


def test_unknown_seed_key_is_refused(control):
    with pytest.raises(ConfigError) as info:
        control.seed({"webhook_shufle": True})
    assert "webhook_shufle" in str(info.value)


# -- events ------------------------------------------------------------------------------
def test_state_changes_are_events_that_can_be_listed_and_retrieved(server):
    sdk = client(server)
    intent = sdk.v1.payment_intents.create(
        params={"amount": 700, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    events = sdk.v1.events.list(params={"type": "payment_intent.*"})
    assert [e.type for e in events.data] == ["payment_intent.succeeded", "payment_intent.created"]
    succeeded = sdk.v1.events.retrieve(events.data[0].id)
    assert succeeded.data.object.id == intent.id
    assert succeeded.data.object.status == "succeeded"
    assert events.data[1].data.object.status == "requires_confirmation"  # a snapshot
    types = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert "charge.succeeded" in types


# -- webhooks ----------------------------------------------------------------------------
SECRET = "whsec_test_receiver"


class Receiver:
    """A webhook endpoint on a loopback port: records each POST, answers the scripted statuses."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (Stripe-Signature, body)
        self.statuses: list[int] = []  # answered in turn, then 200
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver._changed:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.calls.append((self.headers["Stripe-Signature"], body))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/stripe/webhook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def wait_for(
        self, count: int, *, secret: str = SECRET, timeout: float = 5.0
    ) -> list[stripe.Event]:
        """The first ``count`` deliveries, each verified the way an application verifies it."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.calls) >= count, timeout)
            calls = list(self.calls)
        assert arrived, f"{len(calls)} of {count} webhooks arrived within {timeout} s"
        return [stripe.Webhook.construct_event(body, sig, secret) for sig, body in calls]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def finished_deliveries(control: SimulatorClient, count: int) -> list[dict[str, Any]]:
    """The simulator's delivery records, once ``count`` attempts have an outcome."""

    def finished() -> list[dict[str, Any]] | None:
        records: list[dict[str, Any]] = control.state()["webhook_deliveries"]
        done = [r for r in records if r["status"] is not None or r["error"] is not None]
        return done if len(done) >= count else None

    result: list[dict[str, Any]] = eventually(finished)
    return result


def listen(control: SimulatorClient, receiver: Receiver, *events: str, **options: Any) -> None:
    endpoint = {"url": receiver.url, "secret": SECRET, "events": list(events) or ["*"]}
    control.seed({"webhook_endpoints": [endpoint], **options})


def test_webhook_is_signed_so_construct_event_verifies_it(server, control, receiver):
    listen(control, receiver, "customer.created")
    customer = client(server).v1.customers.create(params={"email": "hook@example.com"})
    [event] = receiver.wait_for(1)
    assert (event.type, event.data.object.id) == ("customer.created", customer.id)
    signature, body = receiver.calls[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(customer.id, "cus_forged"), signature, SECRET)


def test_webhook_is_retried_after_the_receiver_answers_500(server, control, receiver):
    receiver.statuses = [500]
    listen(control, receiver, "customer.created", webhook_retry_schedule=[0.05, 0.1, 0.2])
    client(server).v1.customers.create(params={"email": "retry@example.com"})
    first, second = receiver.wait_for(2)
    assert first.id == second.id
    deliveries = finished_deliveries(control, 2)
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 200)]
    assert client(server).v1.events.retrieve(first.id).pending_webhooks == 0


def test_unreachable_endpoint_is_retried_along_the_schedule(server, control):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # the port is free again once this block ends
    endpoint = {"url": f"http://127.0.0.1:{port}/gone", "secret": SECRET}
    control.seed({"webhook_endpoints": [endpoint], "webhook_retry_schedule": [0.01, 0.01]})
    client(server).v1.customers.create(params={"name": "Nobody listens"})
    deliveries = finished_deliveries(control, 3)
    assert [d["attempt"] for d in deliveries] == [1, 2, 3]
    assert all(d["status"] is None and d["error"] for d in deliveries)


def test_duplicates_and_shuffle_deliver_each_event_twice_out_of_order(server, control, receiver):
    listen(control, receiver, webhook_duplicates=2, webhook_shuffle=True)
    client(server).v1.payment_intents.create(
        params={"amount": 900, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    delivered = [event.id for event in receiver.wait_for(6)]
    created = [e["id"] for e in control.state()["events"]]  # oldest first
    assert sorted(delivered) == sorted(created * 2)
    assert list(dict.fromkeys(delivered)) != created


def test_event_can_be_redelivered_on_request(server, control, receiver):
    listen(control, receiver, "customer.created")
    client(server).v1.customers.create(params={"name": "Again"})
    [event] = receiver.wait_for(1)
    answer = httpx.post(f"{server.url}/__interlock/events/{event.id}/redeliver")
    assert answer.status_code == 200
    assert [again.id for again in receiver.wait_for(2)] == [event.id, event.id]


def test_webhook_endpoint_created_through_the_api_gets_only_its_events(server, receiver):
    sdk = client(server)
    endpoint = sdk.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"]}
    )
    assert endpoint.secret.startswith("whsec_")
    intent = sdk.v1.payment_intents.create(
        params={"amount": 800, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    [event] = receiver.wait_for(1, secret=endpoint.secret)
    assert (event.type, event.data.object.id) == ("payment_intent.succeeded", intent.id)
