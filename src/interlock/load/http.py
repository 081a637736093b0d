"""The HTTP/1.1 hot path: keep-alive connections on asyncio protocols, parsed by httptools.

General clients pay for features a load generator does not use on every request
(httpx's pool collapses under concurrency, aiohttp builds rich objects per call); this
one writes a prebuilt request line and parses the answer with llhttp through
``httptools``. One ``Connection`` carries one request at a time; a ``Pool`` keeps a
session's idle connections per origin.

Errors (all ``HttpError``, whose ``kind`` names the failure in the figures):

    HttpError
    ├── kind "connect"   the target refused or could not be reached
    ├── kind "timeout"   no complete answer within the timeout
    ├── kind "closed"    the server closed the connection mid-answer
    └── kind "protocol"  the answer is not HTTP/1.1
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import deque
from typing import Any, Final, cast, final
from urllib.parse import urlsplit

import httptools

__all__ = ["Connection", "HttpError", "Pool", "Response", "Target"]

_USER_AGENT: Final = b"interlock-load/1"


class HttpError(Exception):
    """A request that got no answer; ``kind`` is one of connect, timeout, closed, protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@final
class Response:
    """An answer: ``status`` (int), ``headers`` (lower-case names), ``body`` (bytes)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body)


@final
class Target:
    """An origin (scheme, host, port) parsed once from a base URL such as ``http://127.0.0.1:8080``."""

    __slots__ = ("base_path", "host", "host_header", "port", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default = 443 if self.tls else 80
        self.host_header = (
            self.host if self.port == default else f"{self.host}:{self.port}"
        ).encode("idna")
        self.base_path = parts.path.rstrip("/")


class _HeadAnswered(Exception):
    """Stops the parser after the headers of an answer to HEAD."""


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; ``request`` sends and awaits one answer at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._keep_alive = True
        self._head = False
        self.closed = False

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses but have its methods
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _HeadAnswered):
                raise
            # the parser expects the body its headers announce: start afresh
            self._parser = httptools.HttpResponseParser(self)
        except httptools.HttpParserError as exc:
            self._fail(HttpError("protocol", str(exc)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpError("closed", "the server closed the connection"))

    # httptools callbacks -------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        # an answer to HEAD has headers only, whatever Content-Length says (RFC 9110 9.3.2)
        if self._head:
            self._head = False
            self.on_message_complete()
            raise _HeadAnswered

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        self._keep_alive = self._parser.should_keep_alive()
        response = Response(self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        if not self._keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    # ---------------------------------------------------------------------------------
    def _fail(self, error: HttpError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()

    def _timed_out(self) -> None:
        self._fail(HttpError("timeout", "no complete answer in time"))

    async def request(self, raw: bytes, timeout: float) -> Response:
        """Send the prebuilt request ``raw`` and return its answer; raises HttpError."""
        if self.closed or self._transport is None:
            raise HttpError("closed", "the connection is closed")
        waiter = self._waiter = self._loop.create_future()
        self._head = raw.startswith(b"HEAD ")
        self._transport.write(raw)
        # one timer handle per request is far cheaper than asyncio.wait_for's task
        timer = self._loop.call_later(timeout, self._timed_out)
        try:
            response: Response = await waiter
            return response
        finally:
            timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


@final
class Pool:
    """A session's idle keep-alive connections per origin (one request at a time on each)."""

    __slots__ = ("_all", "_idle", "_loop", "_ssl", "connect_timeout")

    def __init__(self, *, connect_timeout: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle: dict[tuple[str, int], deque[Connection]] = {}
        self._all: set[Connection] = set()  # idle or busy: close() must reach both
        self._ssl: ssl.SSLContext | None = None
        self.connect_timeout = connect_timeout

    async def _connect(self, target: Target) -> Connection:
        if target.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await self._loop.create_connection(
                    lambda: Connection(self._loop),
                    target.host,
                    target.port,
                    ssl=self._ssl if target.tls else None,
                )
        except TimeoutError as exc:
            raise HttpError("connect", f"{target.host}:{target.port}: timed out") from exc
        except OSError as exc:
            raise HttpError(
                "connect", f"{target.host}:{target.port}: {exc.strerror or exc}"
            ) from exc
        assert isinstance(protocol, Connection)
        self._all.add(protocol)
        return protocol

    async def send(self, target: Target, raw: bytes, timeout: float) -> Response:
        """Send ``raw`` to ``target`` on an idle connection (or a new one); raises HttpError."""
        key = (target.host, target.port)
        idle = self._idle.get(key)
        conn: Connection | None = None
        while idle:
            candidate = idle.pop()
            if not candidate.closed:
                conn = candidate
                break
        if conn is None:
            conn = await self._connect(target)
        try:
            response = await conn.request(raw, timeout)
        finally:
            if conn.closed:
                self._all.discard(conn)
        if not conn.closed:
            self._idle.setdefault(key, deque()).append(conn)
        return response

    def close(self) -> None:
        """Close every connection, idle or in the middle of a request."""
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()


def build_request(
    method: str,
    target: Target,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive); build once and reuse for fixed requests."""
    lines = [
        f"{method} {target.base_path}{path} HTTP/1.1".encode("latin-1"),
        b"Host: " + target.host_header,
        b"User-Agent: " + _USER_AGENT,
    ]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}".encode("latin-1"))
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
