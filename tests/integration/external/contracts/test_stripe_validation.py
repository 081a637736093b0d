"""The stripe SDK against the simulator's request validation, derived from Stripe's OpenAPI.

Where each expected answer comes from:

- which parameters an operation takes, their types, enums and which are required: Stripe's
  OpenAPI description (github.com/stripe/openapi ``openapi/spec3.json``), shipped trimmed
  in ``src/interlock/simulators/specs/stripe/``;
- the error bodies (``parameter_unknown``, ``parameter_missing``,
  ``parameter_invalid_integer``, "Invalid boolean", "Invalid hash", "Invalid currency"):
  Stripe's API reference, "Errors" and "Error codes" (docs.stripe.com/error-codes);
- HTTP Basic with the key as user name: Stripe's API reference, "Authentication"
  ("curl https://api.stripe.com/v1/charges -u sk_test_...:");
- ``expand[]``: API reference, "Expanding responses"; metadata: "Metadata" ("Individual
  keys can be unset by posting an empty value to them"); a deleted customer retrieved:
  "Retrieve a customer" (``deleted: true``); ``payment_intents.update``: "Update a
  PaymentIntent"; an unknown URL: Stripe's 404 "Unrecognized request URL".
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import stripe

from interlock.simulators.stripe_spec import stripe_spec
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "stripe"
KEY = "sk_test_contract"
Request = tuple[str, dict[str, Any]]


def client(server: ThreadedSimulator) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": server.url}, max_network_retries=0)


def customer(sdk: stripe.StripeClient) -> str:
    return str(sdk.v1.customers.create(params={"email": "ann@example.com"}).id)


def card(sdk: stripe.StripeClient) -> str:
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040}
    return str(sdk.v1.payment_methods.create(params={"type": "card", "card": card}).id)


def attached(sdk: stripe.StripeClient) -> tuple[str, str]:
    owner, method = customer(sdk), card(sdk)
    sdk.v1.payment_methods.attach(method, params={"customer": owner})
    return owner, method


def intent(sdk: stripe.StripeClient, **extra: Any) -> stripe.PaymentIntent:
    params = {"amount": 1200, "currency": "usd", **extra}
    return sdk.v1.payment_intents.create(params=params)  # type: ignore[arg-type]


def paid(sdk: stripe.StripeClient) -> stripe.PaymentIntent:
    return intent(sdk, payment_method="pm_card_visa", confirm=True)


def endpoint(sdk: stripe.StripeClient) -> str:
    params = {"url": "http://127.0.0.1:9/hook", "enabled_events": ["customer.created"]}
    return str(sdk.v1.webhook_endpoints.create(params=params).id)  # type: ignore[arg-type]


#: operationId -> one valid request (path and params), made after its prerequisites
VALID: dict[str, Callable[[stripe.StripeClient], Request]] = {
    "GetCustomers": lambda sdk: ("/v1/customers", {"limit": 3, "email": "a@example.com"}),
    "PostCustomers": lambda sdk: ("/v1/customers", {"email": "b@example.com", "balance": 0}),
    "GetCustomersCustomer": lambda sdk: (f"/v1/customers/{customer(sdk)}", {}),
    "PostCustomersCustomer": lambda sdk: (f"/v1/customers/{customer(sdk)}", {"name": "Bo"}),
    "DeleteCustomersCustomer": lambda sdk: (f"/v1/customers/{customer(sdk)}", {}),
    "GetPaymentMethods": lambda sdk: ("/v1/payment_methods", {"type": "card"}),
    "PostPaymentMethods": lambda sdk: (
        "/v1/payment_methods",
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2040}},
    ),
    "GetPaymentMethodsPaymentMethod": lambda sdk: (f"/v1/payment_methods/{card(sdk)}", {}),
    "PostPaymentMethodsPaymentMethodAttach": lambda sdk: (
        f"/v1/payment_methods/{card(sdk)}/attach",
        {"customer": customer(sdk)},
    ),
    "PostPaymentMethodsPaymentMethodDetach": lambda sdk: (
        f"/v1/payment_methods/{attached(sdk)[1]}/detach",
        {},
    ),
    "GetPaymentIntents": lambda sdk: ("/v1/payment_intents", {"limit": 5}),
    "PostPaymentIntents": lambda sdk: ("/v1/payment_intents", {"amount": 900, "currency": "eur"}),
    "GetPaymentIntentsIntent": lambda sdk: (f"/v1/payment_intents/{intent(sdk).id}", {}),
    "PostPaymentIntentsIntent": lambda sdk: (
        f"/v1/payment_intents/{intent(sdk).id}",
        {"amount": 1500},
    ),
    "PostPaymentIntentsIntentConfirm": lambda sdk: (
        f"/v1/payment_intents/{intent(sdk).id}/confirm",
        {"payment_method": "pm_card_visa"},
    ),
    "PostPaymentIntentsIntentCapture": lambda sdk: (
        f"/v1/payment_intents/{paid_manually(sdk)}/capture",
        {"amount_to_capture": 1000},
    ),
    "PostPaymentIntentsIntentCancel": lambda sdk: (
        f"/v1/payment_intents/{intent(sdk).id}/cancel",
        {"cancellation_reason": "abandoned"},
    ),
    "GetCharges": lambda sdk: ("/v1/charges", {"limit": 2}),
    "GetChargesCharge": lambda sdk: (f"/v1/charges/{paid(sdk).latest_charge}", {}),
    "GetRefunds": lambda sdk: ("/v1/refunds", {"limit": 2}),
    "PostRefunds": lambda sdk: ("/v1/refunds", {"payment_intent": paid(sdk).id, "amount": 100}),
    "GetRefundsRefund": lambda sdk: (f"/v1/refunds/{refund(sdk)}", {}),
    "GetEvents": lambda sdk: ("/v1/events", {"type": "customer.created"}),
    "GetEventsId": lambda sdk: (f"/v1/events/{event(sdk)}", {}),
    "GetWebhookEndpoints": lambda sdk: ("/v1/webhook_endpoints", {}),
    "PostWebhookEndpoints": lambda sdk: (
        "/v1/webhook_endpoints",
        {"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]},
    ),
    "GetWebhookEndpointsWebhookEndpoint": lambda sdk: (
        f"/v1/webhook_endpoints/{endpoint(sdk)}",
        {},
    ),
    "DeleteWebhookEndpointsWebhookEndpoint": lambda sdk: (
        f"/v1/webhook_endpoints/{endpoint(sdk)}",
        {},
    ),
}


def paid_manually(sdk: stripe.StripeClient) -> str:
    held = intent(sdk, payment_method="pm_card_visa", confirm=True, capture_method="manual")
    return str(held.id)


def refund(sdk: stripe.StripeClient) -> str:
    return str(sdk.v1.refunds.create(params={"payment_intent": paid(sdk).id}).id)


def event(sdk: stripe.StripeClient) -> str:
    customer(sdk)
    return str(sdk.v1.events.list(params={"limit": 1}).data[0].id)


OPERATIONS = {op.operation_id: op for op in stripe_spec().simulated()}


def call(sdk: stripe.StripeClient, operation_id: str, extra: dict[str, Any]) -> Any:
    path, params = VALID[operation_id](sdk)
    method = OPERATIONS[operation_id].method.lower()
    return sdk.raw_request(method, path, **{**params, **extra})


def refusal(sdk: stripe.StripeClient, operation_id: str, extra: dict[str, Any]) -> Any:
    with pytest.raises(stripe.InvalidRequestError) as info:
        call(sdk, operation_id, extra)
    assert info.value.http_status == 400
    assert info.value.error is not None
    return info.value.error


def test_every_simulated_operation_has_a_valid_request_here():
    assert set(VALID) == set(OPERATIONS)


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_simulated_operation_serves_a_valid_request(server, operation_id):
    answer = call(client(server), operation_id, {})
    assert answer.code == 200
    assert answer.data.get("object") is not None


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_simulated_operation_refuses_an_unknown_parameter(server, operation_id):
    error = refusal(client(server), operation_id, {"emial": "ann@example.com"})
    assert error.code == "parameter_unknown"
    assert error.param == "emial"
    assert error.type == "invalid_request_error"
    assert error.message.startswith("Received unknown parameter: emial")


def test_unknown_parameter_names_the_parameter_it_probably_meant(server):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client(server).v1.customers.create(params={"emial": "ann@example.com"})  # type: ignore[typeddict-unknown-key]
    assert info.value.error.message == ("Received unknown parameter: emial. Did you mean email?")


def test_unknown_nested_parameter_is_named_with_its_path(server):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client(server).v1.customers.create(params={"address": {"streeet": "Main"}})  # type: ignore[typeddict-item]
    assert info.value.error.param == "address[streeet]"
    assert info.value.error.code == "parameter_unknown"


@pytest.mark.parametrize(
    ("operation_id", "params", "param", "code", "message"),
    [
        (
            "PostCustomers",
            {"balance": "ten"},
            "balance",
            "parameter_invalid_integer",
            "Invalid integer: ten",
        ),
        ("PostPaymentIntents", {"confirm": "maybe"}, "confirm", None, "Invalid boolean: maybe"),
        ("PostCustomers", {"metadata": "plain"}, "metadata", None, "Invalid hash"),
        (
            "GetCustomers",
            {"limit": "many"},
            "limit",
            "parameter_invalid_integer",
            "Invalid integer: many",
        ),
        (
            "PostRefunds",
            {"reason": "changed_mind"},
            "reason",
            None,
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
        ),
        ("PostPaymentIntents", {"currency": "xyz"}, "currency", None, "Invalid currency: xyz."),
    ],
)
def test_a_wrong_type_or_value_gets_stripes_error(
    server, operation_id, params, param, code, message
):
    error = refusal(client(server), operation_id, params)
    assert error.param == param
    assert error.code == code
    assert error.message.startswith(message)


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/v1/payment_intents", {"currency": "usd"}, "amount"),
        ("/v1/payment_intents", {"amount": 100}, "currency"),
        ("/v1/webhook_endpoints", {"url": "http://127.0.0.1:9/"}, "enabled_events"),
        ("/v1/payment_methods", {"type": "card", "card": {"number": "4242424242424242"}}, "card"),
    ],
)
def test_a_missing_required_parameter_gets_parameter_missing(server, path, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client(server).raw_request("post", path, **params)
    assert info.value.http_status == 400
    assert info.value.error.code in ("parameter_missing", None)
    assert info.value.error.param.startswith(param)


def test_attach_without_a_customer_is_parameter_missing(server):
    sdk = client(server)
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.raw_request("post", f"/v1/payment_methods/{card(sdk)}/attach")
    assert (info.value.error.code, info.value.error.param) == ("parameter_missing", "customer")
    assert info.value.error.message == "Missing required param: customer."


def test_refused_request_saves_no_idempotent_result(server):
    sdk = client(server)
    options = {"idempotency_key": "retry-me"}
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.customers.create(params={"emial": "x@example.com"}, options=options)  # type: ignore[typeddict-unknown-key]
    assert sdk.v1.customers.create(params={"email": "x@example.com"}, options=options).id


def test_http_basic_with_the_key_as_user_is_accepted(server):
    token = base64.b64encode(f"{KEY}:".encode()).decode()
    answer = httpx.get(f"{server.url}/v1/customers", headers={"Authorization": f"Basic {token}"})
    assert answer.status_code == 200
    assert answer.json()["object"] == "list"
    wrong = base64.b64encode(b"sk_live_nope:").decode()
    refused = httpx.get(f"{server.url}/v1/customers", headers={"Authorization": f"Basic {wrong}"})
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"


def test_expand_replaces_ids_with_the_objects(server):
    sdk = client(server)
    owner = customer(sdk)
    charged = intent(sdk, customer=owner, payment_method="pm_card_visa", confirm=True)
    got = sdk.v1.payment_intents.retrieve(
        charged.id, params={"expand": ["customer", "latest_charge"]}
    )
    assert got.customer.id == owner
    assert got.customer.object == "customer"
    assert got.latest_charge.object == "charge"
    listed = sdk.v1.payment_intents.list(params={"expand": ["data.customer"]})
    assert listed.data[0].customer.id == owner


def test_expand_of_a_field_that_cannot_be_expanded_is_refused(server):
    sdk = client(server)
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.v1.customers.retrieve(customer(sdk), params={"expand": ["email"]})
    assert info.value.error.message == "This property cannot be expanded (email)."


def test_curl_style_expand_brackets_are_read_as_a_list(server):
    sdk = client(server)
    charged = paid(sdk)
    answer = httpx.get(
        f"{server.url}/v1/payment_intents/{charged.id}?expand[]=latest_charge",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert answer.json()["latest_charge"]["object"] == "charge"


def test_empty_metadata_value_removes_the_key(server):
    sdk = client(server)
    created = sdk.v1.customers.create(params={"metadata": {"bin": "B-17", "zone": "north"}})
    updated = sdk.v1.customers.update(created.id, params={"metadata": {"bin": ""}})
    assert updated.metadata.to_dict() == {"zone": "north"}
    cleared = sdk.v1.customers.update(created.id, params={"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_payment_intent_is_updated_until_it_is_paid(server):
    sdk = client(server)
    open_intent = intent(sdk)
    updated = sdk.v1.payment_intents.update(
        open_intent.id, params={"amount": 2500, "metadata": {"invoice": "inv_1"}}
    )
    assert (updated.amount, updated.metadata["invoice"]) == (2500, "inv_1")
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.v1.payment_intents.update(paid(sdk).id, params={"amount": 100})
    assert info.value.error.code == "payment_intent_unexpected_state"


def test_an_operation_stripe_serves_and_the_simulator_does_not_says_so(server):
    with pytest.raises(stripe.APIError) as info:
        client(server).v1.customers.search(params={"query": "email:'a@example.com'"})
    assert info.value.http_status == 501
    assert "not simulated: GET /v1/customers/search" in info.value.user_message


def test_an_url_stripe_does_not_have_is_stripes_404(server):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client(server).raw_request("get", "/v1/no_such_things")
    assert info.value.http_status == 404
    assert info.value.user_message.startswith("Unrecognized request URL (GET: /v1/no_such_things)")


def test_a_body_that_is_not_utf8_gets_stripes_error_body(server):
    answer = httpx.post(
        f"{server.url}/v1/customers",
        content=b"email=\xff\xfe@example.com",
        headers={
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_a_parameter_stripe_takes_and_the_simulator_would_ignore_is_refused_by_name(server):
    sdk = client(server)
    with pytest.raises(stripe.APIError) as info:
        intent(sdk, automatic_payment_methods={"enabled": True})
    assert info.value.http_status == 501
    assert info.value.user_message.startswith(
        "not simulated: parameter automatic_payment_methods of PostPaymentIntents"
    )
    assert sdk.v1.payment_intents.list().data == []


def test_customer_fields_are_kept_as_sent_and_an_empty_value_unsets_one(server):
    sdk = client(server)
    address = {"line1": "1 Yard Rd", "city": "Austin", "postal_code": "78701", "country": "US"}
    created = sdk.v1.customers.create(
        params={"email": "ann@example.com", "address": address, "balance": 250}
    )
    got = sdk.v1.customers.retrieve(created.id)
    assert (got.address.city, got.balance) == ("Austin", 250)
    cleared = sdk.v1.customers.update(created.id, params={"address": "", "phone": "+15550001"})
    assert (cleared.address, cleared.phone) == (None, "+15550001")
    method = card(sdk)
    sdk.v1.payment_methods.attach(method, params={"customer": created.id})
    chosen = sdk.v1.customers.update(
        created.id, params={"invoice_settings": {"default_payment_method": method}}
    )
    assert chosen.invoice_settings.default_payment_method == method
