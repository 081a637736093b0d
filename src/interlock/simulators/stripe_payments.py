"""The Stripe simulator's payments: payment methods, PaymentIntents and refunds.

``StripePayments`` adds to the object store the handlers that move money: cards made
from Stripe's test numbers (or its ``pm_card_*`` shortcuts) and attached to customers,
PaymentIntents created, confirmed (a charge that pays or is declined as the test card
says), captured and canceled, and refunds of captured charges. Each records the events
Stripe sends for it.
"""

from __future__ import annotations

import copy
import hashlib
import time
from typing import Any

from aiohttp import web

from interlock.simulators.stripe_errors import (
    DECLINE_MESSAGES,
    TEST_CARDS,
    TEST_PAYMENT_METHODS,
    Failure,
    Params,
    choice,
    flag,
    integer,
    metadata,
    required,
)
from interlock.simulators.stripe_objects import StripeObjects
from interlock.simulators.stripe_webhooks import object_id

__all__ = ["StripePayments"]

MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def _money(amount: int, currency: str) -> str:
    """``$0.50 usd``, as Stripe writes amounts in its messages."""
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{amount / 100:.2f} {currency}"


class StripePayments(StripeObjects):
    """The handlers for payment methods, PaymentIntents and refunds."""

    def reset_state(self) -> None:
        super().reset_state()
        self.card_numbers: dict[str, str] = {}  # payment method id -> test card number
        self.attach_checks = True

    # -- payment methods ------------------------------------------------------------------
    def _create_payment_method(self, request: web.Request, params: Params) -> dict[str, Any]:
        choice(params, "type", ("card",), None)
        required(params, "type")
        card: Params = params["card"] if isinstance(params.get("card"), dict) else {}
        number = str(card.get("number") or "").replace(" ", "")
        if not number:
            raise Failure(400, "Missing required param: card[number].", param="card[number]")
        if number not in TEST_CARDS:
            raise Failure(402, "Your card number is incorrect.", code="incorrect_number")
        month, year = integer(card, "exp_month"), integer(card, "exp_year")
        if not 1 <= month <= 12:
            raise Failure(
                402, "Your card's expiration month is invalid.", code="invalid_expiry_month"
            )
        if year < time.gmtime().tm_year:
            raise Failure(
                402, "Your card's expiration year is invalid.", code="invalid_expiry_year"
            )
        return self._card(number, month, year, metadata(params))

    def _card(self, number: str, month: int, year: int, metadata: Params) -> dict[str, Any]:
        brand = TEST_CARDS[number][0]
        card = {
            "brand": brand,
            "last4": number[-4:],
            "exp_month": month,
            "exp_year": year,
            "funding": "credit",
            "country": "US",
            "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
        }
        method = self._new(
            "payment_method",
            type="card",
            card=card,
            customer=None,
            billing_details={"address": None, "email": None, "name": None, "phone": None},
            metadata=metadata,
        )
        self.card_numbers[method["id"]] = number
        return method

    def _decline(self, method_id: str) -> str | None:
        """The decline code charging this payment method meets (None: it pays)."""
        number = self.card_numbers.get(method_id)
        return TEST_CARDS[number][1] if number else None

    def _payment_method(self, method_id: Any, param: str = "payment_method") -> str:
        """The id of a stored payment method; a test shortcut (``pm_card_visa``) makes one."""
        if method_id in TEST_PAYMENT_METHODS:
            number = TEST_PAYMENT_METHODS[method_id]
            return str(self._card(number, 12, time.gmtime().tm_year + 5, {})["id"])
        return str(self._get("payment_method", method_id, param)["id"])

    def _attach_payment_method(self, request: web.Request, params: Params) -> dict[str, Any]:
        method = self._get("payment_method", self._payment_method(request.match_info["id"], "id"))
        customer = self._get("customer", required(params, "customer"), "customer")
        if method["customer"] not in (None, customer["id"]):
            raise Failure(
                400, "The payment method you provided has already been attached to a customer."
            )
        decline = self._decline(method["id"])
        if decline and self.attach_checks and not TEST_CARDS[self.card_numbers[method["id"]]][2]:
            raise Failure(
                402, DECLINE_MESSAGES[decline], code="card_declined", decline_code=decline
            )
        method["customer"] = customer["id"]
        self._emit(request, "payment_method.attached", method)
        return method

    # -- payment intents ------------------------------------------------------------------
    def _create_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        amount = integer(params, "amount")
        currency = str(required(params, "currency")).lower()
        minimum = MINIMUM_AMOUNTS.get(currency, 1)
        if amount < minimum:
            raise Failure(
                400,
                f"Amount must be at least {_money(minimum, currency)}",
                param="amount",
                code="amount_too_small",
            )
        if params.get("customer") is not None:
            self._get("customer", params["customer"], "customer")
        capture = choice(
            params, "capture_method", ("automatic", "automatic_async", "manual"), "automatic"
        )
        if flag(params, "off_session") and not flag(params, "confirm"):
            raise Failure(
                400, "off_session can only be used when confirm=true.", param="off_session"
            )
        method = params.get("payment_method")
        method = self._payment_method(method) if method is not None else None
        intent = self._new(
            "payment_intent",
            amount=amount,
            amount_capturable=0,
            amount_received=0,
            currency=currency,
            status="requires_confirmation" if method else "requires_payment_method",
            customer=params.get("customer"),
            payment_method=method,
            latest_charge=None,
            capture_method=capture,
            confirmation_method="automatic",
            payment_method_types=["card"],
            last_payment_error=None,
            next_action=None,
            description=params.get("description"),
            metadata=metadata(params),
            canceled_at=None,
            cancellation_reason=None,
        )
        intent["client_secret"] = f"{intent['id']}_secret_{object_id('s')[2:]}"
        self._emit(request, "payment_intent.created", intent)
        if flag(params, "confirm"):
            self._confirm(request, intent, method)
        return intent

    def _update_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        before = copy.deepcopy(intent)
        money = {"amount", "currency", "customer", "payment_method"} & set(params)
        if money and intent["status"] not in CONFIRMABLE:
            field = sorted(money)[0]
            raise Failure(
                400,
                f"This PaymentIntent's {field} could not be updated because it has a status of "
                f"{intent['status']}. You may only update the {field} of a PaymentIntent with "
                f"one of the following statuses: {', '.join(CONFIRMABLE)}.",
                code="payment_intent_unexpected_state",
                param=field,
            )
        if "amount" in params:
            intent["amount"] = integer(params, "amount")
        if "currency" in params:
            intent["currency"] = str(params["currency"]).lower()
        if params.get("customer"):
            intent["customer"] = self._get("customer", params["customer"], "customer")["id"]
        if params.get("payment_method"):
            intent["payment_method"] = self._payment_method(params["payment_method"])
            if intent["status"] == "requires_payment_method":
                intent["status"] = "requires_confirmation"
        for field in ("description", "receipt_email"):
            if field in params:
                intent[field] = params[field] or None
        intent["metadata"] = metadata(params, intent["metadata"])
        previous = {k: v for k, v in before.items() if intent.get(k) != v}
        if previous:
            self._emit(request, "payment_intent.updated", intent, previous)
        return intent

    def _detach_payment_method(self, request: web.Request, params: Params) -> dict[str, Any]:
        method = self._get("payment_method", request.match_info["id"])
        if method["customer"] is None:
            raise Failure(
                400,
                f"The payment method {method['id']} is not attached to a customer so "
                "detachment is impossible.",
                code="payment_method_unexpected_state",
            )
        method["customer"] = None
        self._emit(request, "payment_method.detached", method)
        return method

    def _confirm_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        method = params.get("payment_method")
        self._confirm(request, intent, self._payment_method(method) if method else None)
        return intent

    def _confirm(self, request: web.Request, intent: dict[str, Any], method: str | None) -> None:
        if intent["status"] not in CONFIRMABLE:
            raise Failure(
                400,
                "You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(intent),
            )
        method = method or intent["payment_method"]
        if method is None:
            raise Failure(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        decline = self._decline(method)
        charge = self._new(
            "charge",
            amount=intent["amount"],
            amount_captured=0,
            amount_refunded=0,
            captured=False,
            currency=intent["currency"],
            customer=intent["customer"],
            description=intent["description"],
            payment_intent=intent["id"],
            payment_method=method,
            status="failed" if decline else "succeeded",
            paid=not decline,
            refunded=False,
            failure_code="card_declined" if decline else None,
            failure_message=DECLINE_MESSAGES[decline] if decline else None,
            outcome={
                "type": "issuer_declined" if decline else "authorized",
                "network_status": "declined_by_network" if decline else "approved_by_network",
                "reason": decline,
            },
            metadata={},
        )
        intent["latest_charge"] = charge["id"]
        if decline:
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline,
                "message": DECLINE_MESSAGES[decline],
                "charge": charge["id"],
                "payment_method": copy.deepcopy(self.objects["payment_method"][method]),
            }
            intent.update(
                status="requires_payment_method", payment_method=None, last_payment_error=error
            )
            self._emit(request, "charge.failed", charge)
            self._emit(request, "payment_intent.payment_failed", intent)
            fields = {k: v for k, v in error.items() if k not in ("type", "message")}
            raise Failure(402, error["message"], payment_intent=copy.deepcopy(intent), **fields)
        manual = intent["capture_method"] == "manual"
        if not manual:
            charge.update(captured=True, amount_captured=intent["amount"])
        intent.update(
            payment_method=method,
            last_payment_error=None,
            status="requires_capture" if manual else "succeeded",
            amount_capturable=intent["amount"] if manual else 0,
            amount_received=0 if manual else intent["amount"],
        )
        self._emit(request, "charge.succeeded", charge)
        if manual:
            self._emit(request, "payment_intent.amount_capturable_updated", intent)
        else:
            self._emit(request, "payment_intent.succeeded", intent)

    def _capture_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        if intent["status"] != "requires_capture":
            raise Failure(
                400,
                "This PaymentIntent could not be captured because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be captured: requires_capture.",
                code="payment_intent_unexpected_state",
            )
        capturable = intent["amount_capturable"]
        amount = integer(params, "amount_to_capture", default=capturable)
        if not 0 < amount <= capturable:
            raise Failure(
                400,
                f"The amount to capture ({amount}) must be positive and at most the "
                f"capturable amount ({capturable}).",
                param="amount_to_capture",
                code="amount_too_large",
            )
        charge = self.objects["charge"][intent["latest_charge"]]
        charge.update(captured=True, amount_captured=amount)
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._emit(request, "charge.captured", charge)
        self._emit(request, "payment_intent.succeeded", intent)
        return intent

    def _cancel_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        if intent["status"] not in CANCELABLE:
            raise Failure(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be canceled: {', '.join(CANCELABLE)}.",
                code="payment_intent_unexpected_state",
            )
        reasons = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
        reason = choice(params, "cancellation_reason", reasons, None)
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=int(time.time()),
            cancellation_reason=reason,
        )
        self._emit(request, "payment_intent.canceled", intent)
        return intent

    # -- refunds --------------------------------------------------------------------------
    def _create_refund(self, request: web.Request, params: Params) -> dict[str, Any]:
        if params.get("payment_intent"):
            intent = self._get("payment_intent", params["payment_intent"], "payment_intent")
            charge = self.objects["charge"].get(intent["latest_charge"] or "")
        elif params.get("charge"):
            charge = self._get("charge", params["charge"], "charge")
        else:
            raise Failure(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if charge is None or charge["status"] != "succeeded" or not charge["captured"]:
            raise Failure(
                400,
                "This PaymentIntent does not have a successful, captured charge to refund.",
                code="charge_not_refundable",
            )
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise Failure(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = integer(params, "amount", default=remaining)
        currency = charge["currency"]
        if amount > remaining:
            raise Failure(
                400,
                f"Refund amount ({_money(amount, currency)}) is greater than unrefunded amount "
                f"on charge ({_money(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        if amount <= 0:
            raise Failure(400, "Refund amount must be positive.", param="amount")
        reasons = ("duplicate", "fraudulent", "requested_by_customer")
        refund = self._new(
            "refund",
            amount=amount,
            currency=currency,
            charge=charge["id"],
            payment_intent=charge["payment_intent"],
            status="succeeded",
            reason=choice(params, "reason", reasons, None),
            metadata=metadata(params),
            balance_transaction=None,
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._emit(request, "refund.created", refund)
        self._emit(request, "charge.refunded", charge)
        return refund
