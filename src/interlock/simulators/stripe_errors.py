"""Stripe's errors: the error body, the parameter checks that raise them, the decline tables.

A handler refuses a request by raising ``Failure``; the simulator's wrapper turns it into
Stripe's ``{"error": {"type", "message", "code", ...}}`` body with ``error_response``.
The test cards and test payment method ids are the ones Stripe documents for test mode,
with the decline each of them meets.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from interlock.simulators.base import json_response
from interlock.simulators.stripe_webhooks import object_id

__all__ = [
    "DECLINE_MESSAGES",
    "RATE_LIMITED",
    "TEST_CARDS",
    "TEST_PAYMENT_METHODS",
    "Failure",
    "Params",
    "choice",
    "error_response",
    "flag",
    "integer",
    "metadata",
    "required",
]

Params = dict[str, Any]

RATE_LIMITED = (
    "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)
#: test card number -> (brand, decline code or None for a card that pays, whether it
#: passes the check Stripe makes when a card is attached: 0341 passes, then fails when
#: charged; the other declining cards are refused already at attach)
TEST_CARDS: dict[str, tuple[str, str | None, bool]] = {
    "4242424242424242": ("visa", None, True),
    "5555555555554444": ("mastercard", None, True),
    "4000000000000002": ("visa", "generic_decline", False),
    "4000000000009995": ("visa", "insufficient_funds", False),
    "4000000000000341": ("visa", "generic_decline", True),
}
#: the payment method ids Stripe accepts in test mode in place of a real one
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


class Failure(Exception):
    """A Stripe error the wrapper answers with: status, message and the error's fields."""

    def __init__(self, status: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


def error_response(status: int, message: str, **fields: Any) -> web.Response:
    """Stripe's error body for ``status``, with a fresh ``Request-Id``."""
    kind = {402: "card_error", 500: "api_error", 502: "api_error", 503: "api_error"}.get(
        status, "invalid_request_error"
    )
    if fields.get("code"):
        fields.setdefault("doc_url", f"https://stripe.com/docs/error-codes/{fields['code']}")
    error = {"type": kind, "message": message, **fields}
    headers = {"Request-Id": object_id("req")}
    if status == 501:  # "not simulated": no retry will change that
        headers["Stripe-Should-Retry"] = "false"
    return json_response({"error": error}, status=status, headers=headers)


# -- parameter checks -------------------------------------------------------------------
def required(params: Params, name: str) -> Any:
    if params.get(name) in (None, ""):
        raise Failure(400, f"Missing required param: {name}.", param=name, code="parameter_missing")
    return params[name]


def integer(params: Params, name: str, default: int | None = None) -> int:
    if name not in params and default is not None:
        return default
    value = required(params, name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Failure(
            400, f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
        ) from None


def flag(params: Params, name: str) -> bool:
    return str(params.get(name, "false")).lower() == "true"


def choice(params: Params, name: str, allowed: tuple[str, ...], default: str | None) -> Any:
    value = params.get(name, default)
    if value is not None and value not in allowed:
        raise Failure(400, f"Invalid {name}: must be one of {', '.join(allowed)}", param=name)
    return value


def metadata(params: Params, current: dict[str, str] | None = None) -> dict[str, str]:
    """``current`` updated as Stripe updates metadata: an empty value removes its key, an
    empty ``metadata`` removes them all."""
    update = params.get("metadata")
    result = dict(current or {})
    if update == "":
        return {}
    if isinstance(update, dict):
        for key, value in update.items():
            if value == "":
                result.pop(key, None)
            else:
                result[key] = value
    return result
