"""An HTTP transport for test clients that survives connections the server closed.

Servers close keep-alive connections: after an idle timeout, and, as uvicorn does, right
after answering a request whose handler raised (the 500 that fault tests provoke on
purpose). A pooled connection can then be closed by the server just as the next request
goes out on it, and that request fails with no fault of the system under test. So:

- after a 5xx answer the pool is replaced, so the next request opens a fresh connection;
- idle connections are let go well before common server idle timeouts (uvicorn: 5 s);
- an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) that fails on the
  connection is sent once more, on a fresh one;
- a non-idempotent request (POST, PATCH) is sent again only when it failed before any of
  it was sent (the connection could not be opened): one that may have reached the server
  is never repeated, its error is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import final

import httpx

from interlock.tls import shared_tls

__all__ = ["IDEMPOTENT", "RecoveringTransport"]

#: RFC 9110, section 9.2.2
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: failures of the connection itself (a timeout is the server being slow: not repeated)
_CONNECTION_LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
#: failures before any byte of the request was sent (a refused or reset connect; a timeout
#: is not repeated, it would double the wait)
_NOT_SENT = (httpx.ConnectError,)
#: s; below the idle timeouts of common servers, so that they seldom close one first
KEEPALIVE_EXPIRY = 2.0


class _Pool:
    """One connection pool, and how many answers are still being read from it."""

    def __init__(self) -> None:
        self.transport = httpx.HTTPTransport(
            verify=shared_tls(), limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)
        )
        self.active = 0
        self.retired = False


class _Body(httpx.SyncByteStream):
    """A response body that tells its transport when it was closed."""

    def __init__(self, stream: httpx.SyncByteStream, done: _Done) -> None:
        self._stream = stream
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._done()


class _Done:
    def __init__(self, owner: RecoveringTransport, pool: _Pool, failed: bool) -> None:
        self._owner, self._pool, self._failed = owner, pool, failed
        self._called = False

    def __call__(self) -> None:
        if not self._called:
            self._called = True
            self._owner._release(self._pool, replace=self._failed)


@final
class RecoveringTransport(httpx.BaseTransport):
    """``httpx.Client(transport=RecoveringTransport())``; thread-safe like httpx's own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = _Pool()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = request.method.upper() in IDEMPOTENT
        try:
            return self._send(request)
        except _NOT_SENT:
            return self._send(request)  # nothing reached the server: safe for any method
        except _CONNECTION_LOST:
            if not idempotent:
                raise  # it may have reached the server: repeating it could do it twice
            return self._send(request)

    def _send(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._closed:
                raise RuntimeError("the transport is closed")
            pool = self._pool
            pool.active += 1
        try:
            response = pool.transport.handle_request(request)
        except BaseException:
            self._release(pool, replace=True)  # this pool held a broken connection
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Body(response.stream, _Done(self, pool, response.status_code >= 500)),
            extensions=response.extensions,
        )

    def _release(self, pool: _Pool, *, replace: bool) -> None:
        """One answer of ``pool`` done; after a failure the pool is retired, and closed
        once no answer is read from it any more (other threads may still be reading)."""
        with self._lock:
            pool.active -= 1
            if replace and pool is self._pool and not self._closed:
                pool.retired = True
                self._pool = _Pool()
            close = pool.retired and pool.active == 0
        if close:
            pool.transport.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool = self._pool
            pool.retired = True
            close = pool.active == 0
        if close:
            pool.transport.close()
