"""Request limits counted on the bytes actually received, before anything is parsed.

``Content-Length`` is a claim: a chunked body has none, so the limit must count what
arrives. The body is read here, at most ``max_body_bytes`` of it, and cut off past that
(413); the headers are cut off at theirs (431); both before routing, authentication or
any parser sees a byte; WebSocket frames are bounded by the
server (``--ws-max-size``: a larger frame closes the socket with 1009).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_HEADER_BYTES", "RequestLimits"]

#: all request headers together, names and values, bytes
MAX_HEADER_BYTES = 16 * 1024


class RequestLimits:
    """ASGI middleware: 431 past ``max_header_bytes`` of headers, 413 past
    ``max_body_bytes`` of body (declared or received)."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int = MAX_HEADER_BYTES
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(name) + len(value) for name, value in headers) > self.max_header_bytes:
            await self._refuse(scope, send, 431, "headers_too_large", "request headers too large")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        length = dict(headers).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._too_large(scope, send)
            return
        # the whole body is taken in (up to the limit) before any route, authentication or
        # parser sees it: an endpoint that never reads its body must still refuse a huge one
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        message = f"request body over {self.max_body_bytes} bytes"
        await self._refuse(scope, send, 413, "payload_too_large", message)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1009, "reason": message})
            return
        body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # the rest of an oversized body is not read: the connection cannot be reused
            (b"connection", b"close"),
        ]
        start: dict[str, Any] = {"type": "http.response.start", "status": status}
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then the client's own."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
