"""Stripe webhook events as Stripe signs them (``Stripe-Signature: t=...,v1=...``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any


def signed(
    event: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook delivery of ``event``."""
    payload = json.dumps(event).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={ts},v1={digest}", "Content-Type": "application/json"}


def intent_event(kind: str, *, invoice_id: str, amount: int, status: str) -> dict[str, Any]:
    intent_id = "pi_" + secrets.token_hex(12)
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": kind,
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "currency": "usd",
                "status": status,
                "metadata": {"invoice_id": invoice_id},
                "last_payment_error": None
                if status == "succeeded"
                else {"message": "Your card was declined.", "code": "card_declined"},
            }
        },
    }
