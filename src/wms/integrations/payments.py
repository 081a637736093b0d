"""Stripe, through the official SDK."""

from __future__ import annotations

from typing import Any

import stripe

from wms.errors import UpstreamError, UpstreamUnavailable
from wms.integrations import ExternalService
from wms.settings import Settings

__all__ = ["Payments"]


class Payments:
    def __init__(self, settings: Settings) -> None:
        self.service = ExternalService(
            "stripe", capacity=16, timeout=settings.external_timeout_seconds
        )
        self.client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            base_addresses={"api": settings.stripe_api_base},
            # the SDK retries connection errors, 409 and 5xx, reusing the idempotency key
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=settings.external_timeout_seconds),
        )

    async def create_customer(
        self, *, email: str, name: str, phone: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        params: dict[str, Any] = {
            "email": email,
            "name": name,
            "phone": phone,
            "metadata": metadata,
        }

        def create() -> str:
            customer = self.client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
            return str(customer.id)

        try:
            return await self.service.call(create)
        except stripe.APIConnectionError as exc:
            raise UpstreamUnavailable("stripe", f"unreachable: {exc.user_message or exc}") from None
        except stripe.StripeError as exc:
            raise UpstreamError(
                "stripe",
                exc.user_message or str(exc) or "request failed",
                code="payment_provider_error",
            ) from None
