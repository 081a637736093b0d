"""A WebSocket client for tests: send and await JSON frames with a deadline."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from interlock.helpers.deadline import Deadline, WaitTimeout, seen_instead
from interlock.lifecycle import Closing, Lifecycle

__all__ = ["WebSocketClient", "WebSocketFactory"]


class WebSocketClient:
    """One WebSocket connection. Its session (subscriptions) lives on the server, so a
    connection the server closed is not replaced: ``wait_for`` then fails saying so.
    Closed (by ``close`` or by its factory), it raises ``ClientClosed``."""

    def __init__(self, connection: ClientConnection, timeout: float) -> None:
        self.connection = connection
        self.timeout = timeout
        self.received: list[Any] = []
        self._lifecycle = Lifecycle("the websocket client")

    def send_json(self, data: Any) -> None:
        self._lifecycle.use()
        self.connection.send(json.dumps(data))

    def wait_for(
        self,
        predicate: Callable[[Any], bool],
        *,
        timeout: float | None = None,
        what: str = "a matching frame",
    ) -> Any:
        self._lifecycle.use()
        limit = self.timeout if timeout is None else timeout
        for frame in self.received:
            if predicate(frame):
                return frame
        deadline = Deadline(limit)
        while True:
            if deadline.passed:
                raise WaitTimeout.after(limit, what, seen=seen_instead(self.received, "frame"))
            try:
                raw = self.connection.recv(timeout=deadline.remaining())
            except TimeoutError:
                continue
            except ConnectionClosed as exc:
                raise WaitTimeout(f"connection closed while waiting for {what}: {exc}") from None
            frame = json.loads(raw)
            self.received.append(frame)
            if predicate(frame):
                return frame

    def close(self) -> None:
        """Closes the connection; idempotent."""
        if self._lifecycle.close():
            self.connection.close()


class WebSocketFactory(Closing):
    """``ws.connect("/ws", token=...)``; every connection is closed at the end of the test."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.base_url = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self.timeout = timeout
        self._open = ExitStack()
        self._lifecycle = Lifecycle("the websocket factory")

    def connect(
        self,
        path: str = "/ws",
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        origin: str | None = None,
    ) -> WebSocketClient:
        """A new connection to ``path``, closed with the factory; ClientClosed once closed."""
        self._lifecycle.use()
        extra = dict(headers or {})
        if token:
            extra["Authorization"] = f"Bearer {token}"
        connection = self._open.enter_context(
            connect(
                self.base_url + path,
                additional_headers=extra,
                origin=origin,  # type: ignore[arg-type]
                open_timeout=self.timeout,
            )
        )
        client = WebSocketClient(connection, self.timeout)
        self._open.callback(client.close)
        return client

    def close_all(self) -> None:
        """Closes every connection it made; idempotent, and it makes no more."""
        if self._lifecycle.close():
            self._open.close()

    close = close_all
