"""Request limits hold on the bytes received: a streamed body without Content-Length,
headers of megabytes and a huge WebSocket frame are all cut off before they are parsed."""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.security

MB = 1024 * 1024
CHUNK = 64 * 1024


def stream(app_url: str, path: str, *, total: int, headers: str = "") -> tuple[int, int]:
    """POST ``total`` bytes to ``path`` chunked (no Content-Length), stopping as soon as
    the server answers: (status, bytes sent before the answer)."""
    where = urlsplit(app_url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{headers}"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sent = 0
        chunk = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
        try:
            while sent < total and not select.select([conn], [], [], 0)[0]:
                conn.sendall(chunk)
                sent += CHUNK
            if sent >= total:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is what counts
        answer = b""
        deadline = time.monotonic() + 30
        while b"\r\n" not in answer and time.monotonic() < deadline:
            part = conn.recv(4096)
            if not part:
                break
            answer += part
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    assert status_line.startswith("HTTP/1.1 "), f"no answer: {answer[:200]!r}"
    return int(status_line.split()[1]), sent


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/stripe",
        "/api/v1/webhooks/twilio/status",
        "/api/v1/auth/token",
        "/api/v1/customers",
        "/api/v1/no-such-endpoint",
    ],
)
def test_a_streamed_10_mb_body_is_refused_before_it_is_read(stack, path):
    status, sent = stream(stack.app_url, path, total=10 * MB)
    assert status == 413
    assert sent < 10 * MB  # answered while the body was still coming


def test_megabytes_of_headers_are_refused(stack):
    status, _ = stream(
        stack.app_url, "/api/v1/auth/token", total=0, headers=f"X-Pad: {'a' * MB}\r\n"
    )
    assert status == 431


def test_a_declared_length_over_the_limit_is_refused_before_the_body_comes(stack):
    where = urlsplit(stack.app_url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as conn:
        conn.sendall(
            f"POST /api/v1/auth/token HTTP/1.1\r\nHost: {where.netloc}\r\n"
            "Content-Length: 9999999\r\n\r\n".encode()
        )
        assert conn.recv(4096).startswith(b"HTTP/1.1 413 ")


def test_a_2_mb_websocket_frame_closes_the_socket_with_1009(ws, interlock_auth):
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.connection.send("x" * (2 * MB))
    with pytest.raises(ConnectionClosed) as closed:
        live.connection.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
