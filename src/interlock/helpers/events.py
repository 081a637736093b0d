"""Await messages on Redis pub/sub channels with a deadline."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import redis

from interlock.helpers.deadline import Deadline, WaitTimeout, seen_instead
from interlock.lifecycle import Closing, Lifecycle

__all__ = ["EventListener", "Subscription"]

Predicate = Callable[[Any], bool]


class Subscription:
    """Messages from the subscribed channels since the subscription began.

    Subscribed as soon as it is made; as a ``with`` block it unsubscribes at the block's
    end, and its listener unsubscribes whatever is left when it closes.
    """

    def __init__(self, pubsub: redis.client.PubSub, timeout: float) -> None:
        self._pubsub = pubsub
        self.timeout = timeout
        self.received: list[Any] = []

    def close(self) -> None:
        """Unsubscribe; idempotent."""
        self._pubsub.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain(self, wait: float) -> None:
        message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
        while message is not None:
            data = message["data"]
            with contextlib.suppress(TypeError, ValueError):
                data = json.loads(data)
            self.received.append(data)
            message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0)

    def wait_for(
        self,
        predicate: Predicate,
        *,
        timeout: float | None = None,
        what: str = "a matching message",
    ) -> Any:
        """The first message (JSON-decoded when it is JSON) that satisfies ``predicate``;
        WaitTimeout after ``timeout`` seconds (default: the listener's)."""
        limit = self.timeout if timeout is None else timeout
        deadline = Deadline(limit)
        checked = 0
        while True:
            for message in self.received[checked:]:
                if predicate(message):
                    return message
            checked = len(self.received)
            if deadline.passed:
                raise WaitTimeout.after(limit, what, seen=seen_instead(self.received, "message"))
            self._drain(min(deadline.remaining(), 0.1))


class EventListener(Closing):
    """Redis for tests: ``subscribe`` to await events, ``client`` for plain commands.

    redis-py replaces a pooled connection the server dropped before it sends a command
    (and retries a command whose connection failed); a subscription that loses its
    connection is resubscribed by redis-py, and what was published meanwhile is missed,
    so a ``wait_for`` then fails rather than passing on a message it never saw.
    Closed, the listener raises ``ClientClosed``.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._lifecycle = Lifecycle("the redis listener")
        self._subscriptions: list[Subscription] = []

    @property
    def client(self) -> redis.Redis:
        """The plain client; ClientClosed once the listener is closed."""
        self._lifecycle.use()
        return self._client

    def subscribe(self, *channels: str) -> Subscription:
        """Subscribe now, before acting, so no message can slip by; patterns use ``*``.

        Works as a statement (``sub = redis.subscribe("events")``) and as a ``with``
        block. Raises WaitTimeout when Redis does not confirm every subscription in time:
        a subscription that may not be listening would miss what it waits for.
        """
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        subscription = Subscription(pubsub, self.timeout)
        self._subscriptions.append(subscription)
        plain = [c for c in channels if "*" not in c]
        patterns = [c for c in channels if "*" in c]
        if plain:
            pubsub.subscribe(*plain)
        if patterns:
            pubsub.psubscribe(*patterns)
        # the server confirms each subscription; only then are we sure to hear what follows
        confirmed, deadline = 0, Deadline(self.timeout)
        while confirmed < len(channels) and not deadline.passed:
            message = pubsub.get_message(timeout=min(deadline.remaining(), 0.1))
            if message and message["type"] in ("subscribe", "psubscribe"):
                confirmed += 1
        if confirmed < len(channels):
            subscription.close()
            raise WaitTimeout(
                f"Redis confirmed {confirmed} of {len(channels)} subscription(s) to "
                f"{', '.join(channels)} within {self.timeout:g} s"
            )
        return subscription

    def close(self) -> None:
        """Unsubscribes what is left and closes the client's connections; idempotent."""
        if self._lifecycle.close():
            for subscription in self._subscriptions:
                subscription.close()
            self._client.close()
