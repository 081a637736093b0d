"""Delivery of Stripe events to webhook endpoints: signed POSTs, retries, duplicates, shuffling.

Each endpoint has one worker that sends first attempts in the order events were
published (or shuffled, on request); a failed attempt is retried on its own task
along the retry schedule, so a failing receiver never holds back the events behind it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
import secrets
import time
from hashlib import sha256
from typing import Any

import aiohttp

from interlock.errors import ConfigError
from interlock.simulators.outbound import Outbound

__all__ = ["WebhookDispatcher", "object_id", "signature_header"]

#: Stripe retries for up to three days with exponential backoff; this is that curve
#: with hours scaled down to seconds, so a default run still shows retries happening
DEFAULT_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def object_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """``Stripe-Signature`` as ``stripe.Webhook.construct_event`` verifies it."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"stripe seed {name} must be a non-negative number, got {value!r}")
    return float(value)


class WebhookDispatcher:
    """The webhook endpoints of one Stripe simulator and every attempt to deliver to them."""

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        #: webhook_endpoint objects by id, secrets included (a test needs them to verify)
        self.endpoints: dict[str, dict[str, Any]] = {}
        #: one record per delivery attempt, oldest first
        self.attempts: list[dict[str, Any]] = []
        self._outbound = Outbound()
        self.clear()

    def clear(self) -> None:
        """Forget endpoints, attempts and options; cancel deliveries still pending."""
        self._outbound.cancel_all()
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._delivered: set[tuple[str, str]] = set()
        self.endpoints.clear()
        self.attempts.clear()
        self.rng = random.Random(self.seed)
        self.retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
        self.duplicates = 1
        self.shuffle = False
        self.timeout = 10.0

    def configure(self, data: dict[str, Any]) -> None:
        """Apply the ``webhook_*`` keys of a seed document."""
        if "webhook_retry_schedule" in data:
            schedule = data["webhook_retry_schedule"]
            if not isinstance(schedule, list):
                raise ConfigError("stripe seed webhook_retry_schedule must be a list of seconds")
            self.retry_schedule = tuple(_seconds(s, "webhook_retry_schedule") for s in schedule)
        if "webhook_duplicates" in data:
            copies = data["webhook_duplicates"]
            if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
                raise ConfigError(f"stripe seed webhook_duplicates must be >= 1, got {copies!r}")
            self.duplicates = copies
        if "webhook_shuffle" in data:
            self.shuffle = bool(data["webhook_shuffle"])
        if "webhook_timeout" in data:
            self.timeout = _seconds(data["webhook_timeout"], "webhook_timeout")
        for endpoint in data.get("webhook_endpoints", []):
            events = endpoint.get("events", ["*"]) if isinstance(endpoint, dict) else None
            if not isinstance(endpoint, dict) or "url" not in endpoint:
                raise ConfigError("each stripe seed webhook endpoint needs a url")
            if not isinstance(events, list):
                raise ConfigError("stripe seed webhook endpoint events must be a list of types")
            self.add_endpoint(endpoint["url"], events, secret=endpoint.get("secret"))

    def add_endpoint(
        self, url: str, events: list[str], *, secret: str | None = None
    ) -> dict[str, Any]:
        endpoint: dict[str, Any] = {
            "id": object_id("we"),
            "object": "webhook_endpoint",
            "url": url,
            "enabled_events": list(events),
            "secret": secret or object_id("whsec"),
            "status": "enabled",
            "api_version": None,
            "description": None,
            "metadata": {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.endpoints[endpoint["id"]] = endpoint
        return endpoint

    def targets(self, event_type: str) -> list[str]:
        return [
            endpoint_id
            for endpoint_id, endpoint in self.endpoints.items()
            if "*" in endpoint["enabled_events"] or event_type in endpoint["enabled_events"]
        ]

    def publish(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for every endpoint that listens to its type (on the running loop)."""
        targets = self.targets(event["type"])
        event["pending_webhooks"] = len(targets)
        for endpoint_id in targets:
            self.send(event, endpoint_id)

    def send(self, event: dict[str, Any], endpoint_id: str) -> None:
        queue = self._queues.get(endpoint_id)
        if queue is None:
            queue = self._queues[endpoint_id] = asyncio.Queue()
            self._outbound.spawn(self._worker(endpoint_id, queue))
        for _ in range(self.duplicates):
            queue.put_nowait(event)

    async def close(self) -> None:
        await self._outbound.close()

    # -- delivery ---------------------------------------------------------------------
    async def _worker(self, endpoint_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            if self.shuffle:
                self._disorder(batch)
            for event in batch:
                if not await self._attempt(endpoint_id, event, 1):
                    self._outbound.spawn(self._retry(endpoint_id, event))

    def _disorder(self, batch: list[dict[str, Any]]) -> None:
        """Shuffle so that, given two distinct events, some event overtakes an older one.

        A batch is what queued up while the worker was busy; the events of one API call
        (``payment_intent.created`` then ``.succeeded``) always land in the same one.
        """
        original = list(dict.fromkeys(event["id"] for event in batch))
        self.rng.shuffle(batch)
        if list(dict.fromkeys(event["id"] for event in batch)) == original:
            batch.reverse()

    async def _retry(self, endpoint_id: str, event: dict[str, Any]) -> None:
        for attempt, delay in enumerate(self.retry_schedule, start=2):
            await asyncio.sleep(delay)
            if await self._attempt(endpoint_id, event, attempt):
                return

    async def _attempt(self, endpoint_id: str, event: dict[str, Any], attempt: int) -> bool:
        """One signed POST; True when the endpoint took it (2xx) or no longer exists."""
        endpoint = self.endpoints.get(endpoint_id)
        if endpoint is None:
            return True
        payload = json.dumps(event, indent=2)
        record: dict[str, Any] = {
            "event": event["id"],
            "type": event["type"],
            "endpoint": endpoint_id,
            "url": endpoint["url"],
            "attempt": attempt,
            "time": time.time(),
            "status": None,
            "error": None,
        }
        self.attempts.append(record)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(payload, endpoint["secret"], int(time.time())),
        }
        try:
            async with self._outbound.session.post(
                endpoint["url"],
                data=payload.encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            return False
        delivered = 200 <= response.status < 300
        if delivered and (event["id"], endpoint_id) not in self._delivered:
            self._delivered.add((event["id"], endpoint_id))
            event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
        record["status"] = response.status  # last: a reader who sees it sees the rest too
        return delivered
