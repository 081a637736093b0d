"""Where alert notices go: the console, a JSON-lines log, a webhook.

A notifier is ``async send(event) -> None``; one that cannot deliver says so on stderr
and the monitor carries on (an unreachable webhook must not stop the watching).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Protocol, TextIO, final

import aiohttp

from interlock.monitor.alerts import AlertEvent

__all__ = ["ConsoleNotifier", "JsonlNotifier", "Notifier", "WebhookNotifier", "event_json"]


def event_json(event: AlertEvent) -> dict[str, Any]:
    """The JSON shape of a notice: ``{"event", "at", "alert": {...}}``."""
    return {"event": event.kind, "at": event.at, "alert": event.alert.to_dict()}


class Notifier(Protocol):
    async def send(self, event: AlertEvent) -> None: ...


@final
class ConsoleNotifier:
    """One line per notice: ``ALERT firing down:postgres  postgres is down: ...``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, event: AlertEvent) -> None:
        alert = event.alert
        print(
            f"ALERT {event.kind:<8} {alert.key:<28} {alert.message}",
            file=self.stream or sys.stdout,
            flush=True,
        )


@final
class JsonlNotifier:
    """Appends each notice as one JSON line, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, event: AlertEvent) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(event_json(event)) + "\n")


@final
class WebhookNotifier:
    """POSTs each notice as JSON to ``url``; answers other than 2xx are reported, not raised."""

    def __init__(self, url: str, session: aiohttp.ClientSession, timeout: float = 5) -> None:
        self.url = url
        self.session = session
        self.timeout = timeout

    async def send(self, event: AlertEvent) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                async with self.session.post(self.url, json=event_json(event)) as response:
                    await response.read()
                    if response.status >= 300:
                        _warn(f"webhook {self.url} answered HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            _warn(f"webhook {self.url} not reached: {type(exc).__name__}: {exc}")


def _warn(text: str) -> None:
    print(f"monitor: {text}", file=sys.stderr, flush=True)
