"""A real echo server on loopback to proxy to, and client sockets that close themselves."""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from interlock.faults import Proxy


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    """Echoes every byte back until the client half-closes, then closes; one thread a client."""

    daemon_threads = True
    allow_reuse_address = True
    # a burst of clients through the proxy is a burst of connects here: the default backlog
    # of 5 would leave some waiting for a SYN retransmit, seconds later
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # the proxy resets and drops connections on purpose; anything else is worth a trace
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Clients:
    """Client sockets of one test, with the reads the tests need; all closed at teardown."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []

    def connect(self, address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection(address, timeout=timeout)
        self._sockets.append(sock)
        return sock

    @staticmethod
    def read_exactly(sock: socket.socket, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise EOFError(f"connection closed after {len(data)} of {size} bytes")
            data += chunk
        return bytes(data)

    @staticmethod
    def read_to_eof(sock: socket.socket) -> bytes:
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
        return bytes(data)

    def round_trip(self, sock: socket.socket, payload: bytes = b"ping") -> float:
        """Seconds to send ``payload`` and read its echo."""
        start = time.perf_counter()
        sock.sendall(payload)
        assert self.read_exactly(sock, len(payload)) == payload
        return time.perf_counter() - start

    def close_all(self) -> None:
        for sock in self._sockets:
            sock.close()


@pytest.fixture(scope="session")
def echo() -> Iterator[tuple[str, int]]:
    server = EchoServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield (str(host), int(port))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def clients() -> Iterator[Clients]:
    made = Clients()
    yield made
    made.close_all()


@pytest.fixture
def proxy(echo: tuple[str, int]) -> Iterator[Proxy]:
    with Proxy(echo, seed=7) as running:
        yield running
