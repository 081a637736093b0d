"""Stripe's request validation, read from the shipped OpenAPI description."""

from __future__ import annotations

import pytest

from interlock.simulators.forms import decode_form
from interlock.simulators.stripe import SERVED_PARAMS, StripeSimulator
from interlock.simulators.stripe_errors import Failure
from interlock.simulators.stripe_spec import stripe_spec


def refusal(method: str, path: str, body: str) -> Failure:
    operation = stripe_spec().operation(method, path)
    assert operation is not None
    with pytest.raises(Failure) as info:
        operation.validate(decode_form(body))
    return info.value


def test_a_literal_path_wins_over_a_template():
    operation = stripe_spec().operation("GET", "/v1/customers/search")
    assert operation is not None
    assert operation.path == "/v1/customers/search"
    assert not operation.simulated


def test_an_url_stripe_lacks_has_no_operation():
    assert stripe_spec().operation("GET", "/v1/no_such_things") is None


def test_every_route_of_the_simulator_is_an_operation_the_spec_describes():
    simulated = {(op.method, op.path) for op in stripe_spec().simulated()}
    assert len(simulated) == 28
    assert {op.operation_id for op in stripe_spec().simulated()} >= set(SERVED_PARAMS)
    routes = StripeSimulator().routes()
    api = [r for r in routes if r.path.startswith("/v1/") and "{tail" not in r.path]  # type: ignore[attr-defined]
    for route in api:
        concrete = route.path.replace("{id}", "x_1")  # type: ignore[attr-defined]
        found = stripe_spec().operation(route.method, concrete)  # type: ignore[attr-defined]
        assert found is not None, route
        assert found.simulated, route


def test_the_unset_marker_never_hides_the_real_complaint():
    failure = refusal("POST", "/v1/customers", "metadata=plain")
    assert (failure.message, failure.fields["param"]) == ("Invalid hash", "metadata")


def test_empty_string_unsets_where_the_spec_allows_it_and_is_refused_elsewhere():
    operation = stripe_spec().operation("POST", "/v1/customers/cus_1")
    assert operation is not None
    operation.validate(decode_form("metadata=&address="))
    failure = refusal("POST", "/v1/payment_intents", "amount=&currency=usd")
    assert failure.fields["code"] == "parameter_invalid_empty"


def test_nested_required_parameter_is_named_with_its_path():
    failure = refusal("POST", "/v1/payment_methods", "type=card&card[number]=4242424242424242")
    assert failure.fields["code"] == "parameter_missing"
    assert failure.fields["param"] in ("card[exp_month]", "card[token]")


def test_curl_brackets_decode_to_a_list():
    assert decode_form("expand[]=a&expand[]=b&metadata[k]=v") == {
        "expand": ["a", "b"],
        "metadata": {"k": "v"},
    }
