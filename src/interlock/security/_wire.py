"""Raw HTTP/1.1 over a socket, for requests no HTTP client will send: a chunked body
that stops when the server answers, megabytes of headers, a length never followed."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass
from typing import final
from urllib.parse import urlsplit

from interlock.security.outcome import CheckFailed

__all__ = ["RawAnswer", "raw_request"]

CHUNK = 64 * 1024


@final
@dataclass(frozen=True, kw_only=True)
class RawAnswer:
    """The server's status, and how many body bytes were sent before it answered."""

    status: int
    sent: int


def raw_request(
    app_url: str,
    path: str,
    *,
    head: str = "",
    chunked: int | None = None,
    timeout: float = 30,
) -> RawAnswer:
    """POST ``path`` with the extra header lines ``head`` (each ending in CRLF) and, when
    ``chunked`` is a size in bytes, that many body bytes in 64 KiB chunks, stopping as
    soon as the server answers. Raises CheckFailed when no status line comes within
    ``timeout`` seconds, OSError when the server cannot be reached."""
    where = urlsplit(app_url)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    with socket.create_connection((host, port), timeout=timeout) as conn:
        framing = "Transfer-Encoding: chunked\r\n" if chunked is not None else ""
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{head}{framing}\r\n".encode()
        )
        sent = 0
        if chunked is not None:
            piece = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
            try:
                # an answer waiting to be read means the server stopped reading the body
                while sent < chunked and not select.select([conn], [], [], 0)[0]:
                    conn.sendall(piece)
                    sent += CHUNK
                if sent >= chunked:
                    conn.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading: its answer is what counts
        answer = _status_line(conn, deadline=time.monotonic() + timeout)
    if not answer.startswith("HTTP/1.1 ") or not answer[9:12].isdigit():
        raise CheckFailed(f"POST {path}: no HTTP answer within {timeout:g} s (got {answer!r})")
    return RawAnswer(status=int(answer[9:12]), sent=sent)


def _status_line(conn: socket.socket, *, deadline: float) -> str:
    answer = b""
    while b"\r\n" not in answer and (remaining := deadline - time.monotonic()) > 0:
        conn.settimeout(remaining)
        try:
            part = conn.recv(4096)
        except (TimeoutError, ConnectionResetError):
            break
        if not part:
            break
        answer += part
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")
