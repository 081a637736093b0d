"""Billing's records as the API shows them."""

from __future__ import annotations

from wms.db.models import Invoice
from wms.domain.billing.schemas import InvoiceOut

__all__ = ["invoice_out"]


def invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut.model_validate(invoice, from_attributes=True)
