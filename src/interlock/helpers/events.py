"""Await messages on Redis pub/sub channels with a deadline."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from interlock.helpers.deadline import WaitTimeout

__all__ = ["EventListener", "Subscription"]

Predicate = Callable[[Any], bool]


class Subscription:
    """Messages from the subscribed channels since the subscription began."""

    def __init__(self, pubsub: redis.client.PubSub, timeout: float) -> None:
        self._pubsub = pubsub
        self.timeout = timeout
        self.received: list[Any] = []

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
        """The first message (JSON-decoded when it is JSON) that satisfies ``predicate``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        checked = 0
        while True:
            for message in self.received[checked:]:
                if predicate(message):
                    return message
            checked = len(self.received)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(
                    f"no {what} within {timeout or self.timeout:g} s; "
                    f"received {len(self.received)} other message(s)"
                )
            self._drain(min(remaining, 0.1))


class EventListener:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.client = redis.Redis.from_url(url, decode_responses=True)

    @contextmanager
    def subscribe(self, *channels: str) -> Iterator[Subscription]:
        """Subscribe before acting, so no message can slip by; patterns use ``*``."""
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        plain = [c for c in channels if "*" not in c]
        patterns = [c for c in channels if "*" in c]
        if plain:
            pubsub.subscribe(*plain)
        if patterns:
            pubsub.psubscribe(*patterns)
        # the server confirms each subscription; only then are we sure to hear what follows
        confirmed, deadline = 0, time.monotonic() + self.timeout
        while confirmed < len(channels) and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message and message["type"] in ("subscribe", "psubscribe"):
                confirmed += 1
        try:
            yield Subscription(pubsub, self.timeout)
        finally:
            pubsub.close()

    def close(self) -> None:
        self.client.close()
