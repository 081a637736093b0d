"""Stripe, through the official SDK: customers, payment methods, charges, refunds, webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from wms.errors import InvalidInput
from wms.integrations import external_service
from wms.integrations.keys import KeyedClients, KeyRing
from wms.integrations.resilience import Permanent, Transient
from wms.settings import Settings

__all__ = ["Charge", "Payments", "WebhookRejected"]


class WebhookRejected(InvalidInput):
    status = 400
    code = "invalid_webhook"


@dataclass(frozen=True, kw_only=True)
class Charge:
    """The outcome of one charge attempt."""

    payment_intent_id: str | None
    succeeded: bool
    error: str | None = None
    decline_code: str | None = None


class Payments:
    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        self.service = external_service("stripe", settings)
        self.webhook_secret = settings.stripe_webhook_secret.get_secret_value()
        base, timeout = settings.stripe_api_base, self.service.policy.timeout
        self.clients = KeyedClients(
            "stripe",
            lambda key: stripe.StripeClient(
                key,
                base_addresses={"api": base},
                # ExternalService retries (reusing the idempotency key); not the SDK as well
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=timeout),
            ),
            refused=lambda exc: isinstance(exc, stripe.AuthenticationError),
            rings=keys,
            default=settings.stripe_api_key.get_secret_value(),
        )

    async def _call(self, fn: Any, *, client_params: tuple[str, ...] = ()) -> Any:
        """Run ``fn(client)`` as a Stripe call; ``client_params`` are parameters our caller
        chose, so Stripe rejecting one of them is the caller's error (422), not ours (502).

        During a key rotation the newest key is tried first; if Stripe does not know it
        yet (401: nothing was done), the key it replaces is used instead.
        """
        keys = await self.clients.keys()

        def classified() -> Any:
            try:
                return self.clients.run(keys, fn)
            except stripe.CardError:
                raise
            except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
                # 429, 409 (key in use) and 5xx: worth another try with the same key
                after = (exc.headers or {}).get("Retry-After") if exc.headers else None
                raise Transient(
                    exc.user_message or str(exc) or type(exc).__name__,
                    retry_after=float(after) if after and after.isdigit() else None,
                ) from None
            except stripe.IdempotencyError as exc:
                # the caller reused its Idempotency-Key for a different request
                raise Permanent(
                    exc.user_message or str(exc),
                    client_error="idempotency_key_reused",
                    client_status=409,
                ) from None
            except stripe.InvalidRequestError as exc:
                client = exc.param in client_params or "*" in client_params
                missing = exc.code == "resource_missing"
                code = "not_found" if missing else f"invalid_{exc.param or 'request'}"
                raise Permanent(
                    exc.user_message or str(exc),
                    client_error=code if client else None,
                    client_status=404 if missing else 422,
                ) from None
            except stripe.StripeError as exc:
                raise Permanent(exc.user_message or str(exc) or type(exc).__name__) from None

        return await self.service.call(classified)

    async def create_customer(
        self, *, email: str, name: str, phone: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        params: dict[str, Any] = {
            "email": email,
            "name": name,
            "phone": phone,
            "metadata": metadata,
        }

        def create(client: stripe.StripeClient) -> str:
            customer = client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
            return str(customer.id)

        result: str = await self._call(create)
        return result

    async def attach_payment_method(self, *, customer: str, payment_method: str) -> str:
        def attach(client: stripe.StripeClient) -> str:
            method = client.v1.payment_methods.attach(payment_method, params={"customer": customer})
            return str(method.id)

        try:
            # every refusal of an attach is about the card our caller gave
            result: str = await self._call(attach, client_params=("*",))
        except stripe.CardError as exc:
            raise InvalidInput(f"payment method refused: {exc.user_message}") from None
        return result

    async def charge(
        self,
        *,
        customer: str,
        payment_method: str,
        amount_cents: int,
        currency: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> Charge:
        """Create and confirm a PaymentIntent off-session; a decline is an outcome, not an error."""
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency,
            "customer": customer,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": metadata,
        }

        def create(client: stripe.StripeClient) -> Charge:
            try:
                intent = client.v1.payment_intents.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": idempotency_key},
                )
            except stripe.CardError as exc:
                error = exc.error
                intent_data = getattr(error, "payment_intent", None) if error else None
                return Charge(
                    payment_intent_id=str(intent_data["id"]) if intent_data else None,
                    succeeded=False,
                    error=exc.user_message or "card declined",
                    decline_code=getattr(error, "decline_code", None) if error else None,
                )
            return Charge(
                payment_intent_id=str(intent.id),
                succeeded=intent.status == "succeeded",
                error=None if intent.status == "succeeded" else intent.status,
            )

        result: Charge = await self._call(create)
        return result

    async def succeeded_intent(self, *, customer: str, invoice_id: str) -> str | None:
        """A PaymentIntent of this invoice that already succeeded: never charge twice."""

        def find(client: stripe.StripeClient) -> str | None:
            page = client.v1.payment_intents.list(params={"customer": customer, "limit": 100})
            for intent in page.auto_paging_iter():
                data = intent.to_dict()
                metadata = data.get("metadata") or {}
                if metadata.get("invoice_id") == invoice_id and data.get("status") == "succeeded":
                    return str(data["id"])
            return None

        result: str | None = await self._call(find)
        return result

    async def refund(
        self, *, payment_intent: str, amount_cents: int, reason: str, idempotency_key: str
    ) -> str:
        def create(client: stripe.StripeClient) -> str:
            refund = client.v1.refunds.create(
                params={"payment_intent": payment_intent, "amount": amount_cents, "reason": reason},
                options={"idempotency_key": idempotency_key},
            )
            return str(refund.id)

        result: str = await self._call(create)
        return result

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event, if the Stripe-Signature is valid and at most 300 s old; else 400."""
        if not signature:
            raise WebhookRejected("missing Stripe-Signature header", code="invalid_signature")
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self.webhook_secret, tolerance=300
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(
                f"signature check failed: {exc.user_message or exc}", code="invalid_signature"
            ) from None
        except ValueError:
            raise WebhookRejected("payload is not a Stripe event", code="invalid_payload") from None
        data: dict[str, Any] = event.to_dict()
        return data
