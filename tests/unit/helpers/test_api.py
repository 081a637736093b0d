"""The api client against a real local server that closes connections as uvicorn does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from interlock.helpers.api import ApiClient
from interlock.lifecycle import ClientClosed


class ClosingServer:
    """HTTP/1.1 on loopback, keep-alive. ``/ok`` answers 200; ``/fail`` answers 500 and
    ``/ok-then-close`` 200, and both then close their connection the moment the next
    request arrives on it, unanswered: the worst case of a server closing a connection
    (after an unhandled error, or idle) as the client reuses it."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        #: (method, path) of every request received, answered or not
        self.received: list[tuple[str, str]] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            close_next = False
            while True:
                line = reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                reader.read(length)
                self.received.append((method, path))
                if close_next:
                    return  # closes without a word
                status = "500 Internal Server Error" if path == "/fail" else "200 OK"
                conn.sendall(f"HTTP/1.1 {status}\r\ncontent-length: 2\r\n\r\nok".encode())
                close_next = path in ("/fail", "/ok-then-close")

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self._socket.close()
        for thread in (self._accepting, *self._threads):
            thread.join(timeout=5)
            assert not thread.is_alive(), "a connection of the test server outlived its test"


@pytest.fixture
def server() -> Iterator[ClosingServer]:
    running = ClosingServer()
    yield running
    running.close()


@pytest.fixture
def api(server: ClosingServer) -> Iterator[ApiClient]:
    with ApiClient(server.url, timeout=5) as client:
        yield client


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_idempotent_request_survives_a_connection_the_server_closed(api, server, method):
    assert api.get("/ok-then-close").status_code == 200
    assert api.request(method, "/ok").status_code == 200
    # sent on the closed connection, then once more on a fresh one
    assert server.received[1:] == [(method, "/ok"), (method, "/ok")]


def test_a_post_after_a_500_goes_out_on_a_fresh_connection(api, server):
    assert api.get("/fail").status_code == 500
    assert api.post("/ok", json={"n": 1}).status_code == 200
    assert server.received == [("GET", "/fail"), ("POST", "/ok")]  # sent once


def test_a_post_that_may_have_reached_the_server_is_never_repeated(api, server):
    assert api.get("/ok-then-close").status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/ok", json={"n": 1})
    assert server.received == [("GET", "/ok-then-close"), ("POST", "/ok")]
    assert api.post("/ok", json={"n": 2}).status_code == 200  # and the client goes on


def test_a_request_that_cannot_connect_fails_after_one_more_try():
    probe = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()  # nothing listens there now
    with ApiClient(url, timeout=5) as client, pytest.raises(httpx.ConnectError):
        client.post("/ok")


def test_a_closed_client_and_the_clients_it_derived_refuse_to_be_used(server):
    client = ApiClient(server.url, timeout=5, auth=lambda role: {"X-Role": role})
    derived = client.as_role("admin")
    client.close()
    client.close()  # closing twice is harmless
    for closed in (client, derived):
        with pytest.raises(ClientClosed, match="the api client is closed"):
            closed.get("/ok")
    with pytest.raises(ClientClosed), client:
        pass
    assert server.received == []


def test_a_client_is_entered_once(server):
    with ApiClient(server.url, timeout=5) as client:
        with pytest.raises(RuntimeError, match="already open"), client:
            pass
        assert client.get("/ok").status_code == 200
