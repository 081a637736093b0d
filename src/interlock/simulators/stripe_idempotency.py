"""Stripe's idempotency keys: what a POST with an ``Idempotency-Key`` header gets.

A key is scoped to the API key that sent it. The first request with a key runs and its
answer is remembered for ``ttl`` seconds; a later request with the same key, endpoint,
method and parameters gets that answer again (``Idempotent-Replayed: true``, the first
``Request-Id``), one with other parameters or another endpoint an ``idempotency_error``,
and one that arrives while the first is still running a 409 ``idempotency_key_in_use``.
An answer that failed validation (a 4xx other than a card's 402) is not remembered, so
that the caller may fix the request and retry with the same key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from interlock.simulators.stripe_errors import Params, error_response

__all__ = ["IdempotencyStore", "Outcome"]

IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with. Try using a key other than '{key}' if you meant to execute a different request."
)
IDEMPOTENCY_OTHER_ENDPOINT = (
    "Keys for idempotent requests can only be used for the same endpoint they were first used "
    "for ('{new}' vs '{old}'). Try using a key other than '{key}' if you meant to execute a "
    "different request."
)
IDEMPOTENCY_IN_USE = (
    "There is currently another in-progress request using this Idempotent Key (that probably "
    "means you submitted twice, and the other request is still going through): {key}. "
    "Please try again later."
)
#: (API key, idempotency key)
Slot = tuple[str, str]


@dataclass(frozen=True)
class Outcome:
    """What the first request with an idempotency key got, to replay to the next."""

    method: str
    path: str
    params: Params
    status: int
    body: str
    request_id: str
    at: float


class IdempotencyStore:
    """The remembered outcomes and the keys in flight of one Stripe simulator."""

    def __init__(self, clock: Callable[[], float]) -> None:
        #: the clock for expiry, called on every use (the simulator's, which a test may freeze)
        self.clock = clock
        self.clear()

    def clear(self) -> None:
        self.outcomes: dict[Slot, Outcome] = {}
        self.in_flight: set[Slot] = set()
        self.ttl = 24 * 3600.0

    def keys(self) -> list[str]:
        return [key for _, key in self.outcomes]

    def keys_in_flight(self) -> list[str]:
        return [key for _, key in self.in_flight]

    async def run(
        self,
        slot: Slot,
        request: web.Request,
        params: Params,
        execute: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        """Answer ``request`` under the key in ``slot``; ``execute`` serves it for real."""
        key = slot[1]
        if slot in self.in_flight:
            message = IDEMPOTENCY_IN_USE.format(key=key)
            return error_response(409, message, code="idempotency_key_in_use")
        stored = self.outcomes.get(slot)
        if stored is not None and self.clock() - stored.at >= self.ttl:
            del self.outcomes[slot]  # pruned: the key runs as a new request
            stored = None
        if stored is not None:
            if stored.path != request.path:
                mismatch = IDEMPOTENCY_OTHER_ENDPOINT.format(
                    new=request.path, old=stored.path, key=key
                )
            elif (stored.method, stored.params) != (request.method, params):
                mismatch = IDEMPOTENCY_MISMATCH.format(key=key)
            else:
                headers = {
                    "Idempotent-Replayed": "true",
                    "Idempotency-Key": key,
                    "Request-Id": stored.request_id,
                }
                return web.Response(
                    text=stored.body,
                    status=stored.status,
                    content_type="application/json",
                    headers=headers,
                )
            return error_response(400, mismatch, type="idempotency_error")
        self.in_flight.add(slot)
        try:
            response = await execute()
        finally:
            self.in_flight.discard(slot)
        # what failed validation is not stored: the caller may fix it and retry the key
        if response.status < 400 or response.status == 402 or response.status >= 500:
            self.outcomes[slot] = Outcome(
                request.method,
                request.path,
                params,
                response.status,
                response.text or "",
                response.headers["Request-Id"],  # the id the execution stamped
                self.clock(),
            )
        response.headers["Idempotency-Key"] = key
        return response
