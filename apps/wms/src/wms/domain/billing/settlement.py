"""What a payment provider says was paid, checked against the invoice it is for."""

from __future__ import annotations

from typing import Any

from wms.db.models import Invoice

__all__ = ["mismatch", "pays_in_full"]


def pays_in_full(intent: dict[str, Any], invoice: Invoice) -> bool:
    """Whether a succeeded PaymentIntent received exactly the invoice's amount and currency."""
    received = intent.get("amount_received", intent.get("amount"))
    currency = str(intent.get("currency", "")).lower()
    return received == invoice.amount_cents and currency == invoice.currency.lower()


def mismatch(intent: dict[str, Any], invoice: Invoice) -> dict[str, Any]:
    """The security event's data for a payment that does not match its invoice."""
    return {
        "customer_id": str(invoice.customer_id),
        "invoice_id": str(invoice.id),
        "payment_intent": str(intent.get("id")),
        "expected_cents": invoice.amount_cents,
        "received": intent.get("amount_received", intent.get("amount")),
        "currency": intent.get("currency"),
    }
