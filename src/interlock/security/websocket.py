"""WebSocket checks: the handshake refuses a missing or expired token and a foreign
Origin, a role reaches only the channels configured for it, a huge frame closes the
socket with 1009, and a malformed message is answered without closing the socket.

Each check connects as a browser would (``[tool.interlock.security.websocket]`` says
where the token rides) and raises CheckFailed with one line when the server fails it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from interlock.security.outcome import CheckFailed
from interlock.security.settings import MIB, LimitSettings, WebSocketSettings

__all__ = [
    "FOREIGN_ORIGIN",
    "MALFORMED_MESSAGES",
    "check_channel",
    "check_handshake_refused",
    "check_huge_frame_closes",
    "check_malformed_messages_answered",
    "ws_connect",
]

#: the Origin of a page on another site
FOREIGN_ORIGIN = "https://attacker.example"
#: messages no protocol means: not JSON, a JSON array, a number, a nested list, binary
MALFORMED_MESSAGES: tuple[str | bytes, ...] = (
    "{not json",
    '["subscribe"]',
    "1e999999",
    '{"action": 1, "channels": [["x"]]}',
    b"\x00\xff binary",
)


def _ws_base(app_url: str) -> str:
    return app_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/")


def ws_connect(
    app_url: str,
    settings: WebSocketSettings,
    *,
    token: str | None,
    origin: str | None = None,
    timeout: float = 30,
) -> ClientConnection:
    """An open connection to the configured endpoint, the token where it is configured
    to ride. Raises InvalidStatus when the server refuses the handshake."""
    url = _ws_base(app_url) + settings.path
    headers: dict[str, str] = {}
    if token is not None and settings.token == "query":
        url += ("&" if "?" in url else "?") + "token=" + quote(token, safe="")
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return connect(
        url,
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]  # websockets types it as its Origin alias
        open_timeout=timeout,
        max_size=None,
    )


def check_handshake_refused(
    app_url: str,
    settings: WebSocketSettings,
    *,
    token: str | None,
    origin: str | None = None,
    timeout: float = 30,
) -> int:
    """Open a WebSocket with ``token`` (None: none) and ``origin``: the server must
    refuse the handshake. Returns the refusal's HTTP status; raises CheckFailed when the
    socket opens (a session the server meant to end at once must not start at all)."""
    try:
        with ws_connect(app_url, settings, token=token, origin=origin, timeout=timeout):
            pass
    except InvalidStatus as refused:
        return int(refused.response.status_code)
    except InvalidHandshake as refused:
        raise CheckFailed(
            f"{settings.path}: a broken handshake, not a refusal: {refused}"
        ) from None
    what = "no token" if token is None else "the token"
    raise CheckFailed(
        f"{settings.path}: the handshake with {what}"
        + (f" from Origin {origin}" if origin else "")
        + " was accepted, expected a refusal"
    )


def _first_answer(connection: ClientConnection, *, timeout: float) -> Any | ConnectionClosed:
    """The first JSON frame the server sends, or the close that came instead.
    Raises CheckFailed when neither comes within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            raw = connection.recv(timeout=remaining)
        except ConnectionClosed as closed:
            return closed
        except TimeoutError:
            break
        try:
            return json.loads(raw)
        except ValueError:
            raise CheckFailed(
                f"the server answered with a frame that is not JSON: {raw!r:.80}"
            ) from None
    raise CheckFailed(f"no answer within {timeout:g} s")


def _confirms(frame: Any, subscribed: Mapping[str, Any]) -> bool:
    return isinstance(frame, dict) and all(frame.get(k) == v for k, v in subscribed.items())


def check_channel(
    app_url: str,
    settings: WebSocketSettings,
    *,
    token: str,
    channel: str,
    expected: str,
    timeout: float = 30,
) -> None:
    """Subscribe to ``channel`` (placeholders already filled) with ``token``: the answer
    must be ``expected`` (``"allowed"``: a frame holding ``settings.subscribed``;
    ``"refused"``: any other frame, or a close). Raises CheckFailed otherwise, or when
    the handshake refuses the token or nothing comes within ``timeout`` seconds."""
    if expected not in ("allowed", "refused"):
        raise ValueError(f"expected must be 'allowed' or 'refused', not {expected!r}")
    try:
        with ws_connect(app_url, settings, token=token, timeout=timeout) as connection:
            connection.send(settings.subscription(channel))
            answer = _first_answer(connection, timeout=timeout)
    except InvalidStatus as refused:
        raise CheckFailed(
            f"{settings.path}: the handshake refused a valid token ({refused.response.status_code})"
        ) from None
    got = "allowed" if _confirms(answer, settings.subscribed) else "refused"
    if got != expected:
        raise CheckFailed(
            f"subscribing to {channel!r}: {got} ({answer!s:.120}), expected {expected}"
        )


def check_huge_frame_closes(
    app_url: str,
    settings: WebSocketSettings,
    limits: LimitSettings,
    *,
    token: str,
    size: int = 2 * MIB,
    timeout: float = 30,
) -> None:
    """Send one text frame of ``size`` bytes (2 MiB, past ``limits.max_frame_bytes``):
    the server must close the socket with 1009 (message too big). Raises CheckFailed
    when it answers, closes otherwise, or keeps the socket open past ``timeout``."""
    if size <= limits.max_frame_bytes:
        raise ValueError(f"a {size} B frame is within the limit of {limits.max_frame_bytes}")
    with ws_connect(app_url, settings, token=token, timeout=timeout) as connection:
        # closed while the frame was going out: the close code still tells
        with contextlib.suppress(ConnectionClosed):
            connection.send("x" * size)
        answer = _first_answer(connection, timeout=timeout)
    if not isinstance(answer, ConnectionClosed):
        raise CheckFailed(f"a {size} B frame was answered ({answer!s:.80}), expected close 1009")
    code = answer.rcvd.code if answer.rcvd is not None else None
    if code != 1009:
        raise CheckFailed(f"a {size} B frame closed the socket with {code}, expected 1009")


def check_malformed_messages_answered(
    app_url: str,
    settings: WebSocketSettings,
    *,
    token: str,
    channel: str,
    messages: Sequence[str | bytes] = MALFORMED_MESSAGES,
    timeout: float = 30,
) -> None:
    """Send each of ``messages`` on one socket, then subscribe to ``channel`` (one
    ``token`` may subscribe to): the socket must stay open and the subscription be
    confirmed. Raises CheckFailed naming the message after which the socket closed."""
    with ws_connect(app_url, settings, token=token, timeout=timeout) as connection:
        for message in (*messages, settings.subscription(channel)):
            try:
                connection.send(message)
                answer = _first_answer(connection, timeout=timeout)
            except ConnectionClosed as closed:
                answer = closed
            if isinstance(answer, ConnectionClosed):
                code = answer.rcvd.code if answer.rcvd is not None else None
                raise CheckFailed(f"the message {message!r:.60} closed the socket ({code})")
        if not _confirms(answer, settings.subscribed):
            raise CheckFailed(
                f"after malformed messages, subscribing to {channel!r}: {answer!s:.120}"
            )
