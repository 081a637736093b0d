"""The websocket helper against a real WebSocket server: waits that find, and waits that
time out saying what came instead."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from websockets.sync.server import Server, ServerConnection, serve

from interlock.helpers import WebSocketFactory
from interlock.helpers.deadline import WaitTimeout


def _greet(connection: ServerConnection) -> None:
    """Sends two frames, then holds the connection open until the client leaves."""
    connection.send(json.dumps({"kind": "hello"}))
    connection.send(json.dumps({"kind": "tick", "n": 1}))
    for _ in connection:  # until the client closes
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server: Server = serve(_greet, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_wait_for_returns_the_first_matching_frame_and_keeps_what_came_before(server_url):
    with WebSocketFactory(server_url, timeout=5) as ws:
        client = ws.connect("/")
        assert client.wait_for(lambda f: f["kind"] == "tick") == {"kind": "tick", "n": 1}
        assert client.received == [{"kind": "hello"}, {"kind": "tick", "n": 1}]
        # a frame already received is found again without waiting
        assert client.wait_for(lambda f: f["kind"] == "hello", timeout=0) == {"kind": "hello"}


def test_a_wait_that_times_out_names_what_it_waited_for_and_what_came(server_url):
    with WebSocketFactory(server_url, timeout=5) as ws:
        client = ws.connect("/")
        client.wait_for(lambda f: f["kind"] == "tick")
        with pytest.raises(WaitTimeout) as failed:
            client.wait_for(lambda f: f["kind"] == "eta", timeout=0.2, what="the ETA")
    assert str(failed.value) == (
        "timed out after 0.2 s waiting for the ETA; received 2 other frame(s), "
        "the last: [{'kind': 'hello'}, {'kind': 'tick', 'n': 1}]"
    )
