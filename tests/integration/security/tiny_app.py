"""A tiny aiohttp app to hold Interlock's security checks against: it holds every check,
unless told to have one of FLAWS, in which case it fails the checks of that flaw.

It runs in a thread of the test process, on a free port, with its own event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from collections import Counter
from types import TracebackType
from typing import Any

import jwt
from aiohttp import WSMsgType, web

__all__ = ["FLAWS", "KEY", "LIMITS", "TinyApp", "token"]

KEY = "tiny-app-signing-key-0123456789abcdef"
ALLOWED_ORIGIN = "http://app.example"
MIB = 1024 * 1024
#: what the holding app enforces, bytes and counts (the settings the tests give the checks)
LIMITS = {"body": MIB, "headers": 16 * 1024, "frame": MIB, "account": 5, "client": 20}
FLAWS = frozenset(
    {
        "reads-any-body",  # counts Content-Length only: a chunked body is read whole
        "refuses-after-reading",  # 413, but only once the whole body was read
        "waits-for-declared-body",  # no check of Content-Length before the body comes
        "takes-any-headers",
        "no-throttle",
        "tells-unknown-accounts",  # "no such account" vs "wrong password"
        "skips-hash-for-unknown",  # same message, but an unknown account answers at once
        "ws-takes-anyone",  # no token needed
        "ws-takes-expired",
        "ws-takes-any-origin",
        "ws-any-channel",  # any role may subscribe to any channel
        "ws-any-frame",  # no frame size limit
        "ws-closes-on-malformed",
    }
)
USERS = {"known@example.com": "right-password"}
BODY = web.RequestKey("body", bytes)


def token(sub: str, role: str, *, ttl: int = 600) -> str:
    """A token the app accepts for ``ttl`` seconds."""
    now = int(time.time())
    return jwt.encode({"sub": sub, "role": role, "iat": now, "exp": now + ttl}, KEY, "HS256")


def _hash(password: str) -> bytes:
    # a deliberate cost, as a real password hash has (tens of ms)
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"salt", 60_000)


_STORED = {email: _hash(password) for email, password in USERS.items()}
_DUMMY = _hash("nobody has this password")


class TinyApp:
    """``with TinyApp({"no-throttle"}) as app: app.url``."""

    def __init__(self, flaws: set[str] | frozenset[str] = frozenset()) -> None:
        unknown = set(flaws) - FLAWS
        if unknown:
            raise ValueError(f"no such flaw: {unknown}")
        self.flaws = frozenset(flaws)
        self.url = ""
        self._failures: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    # -- HTTP ---------------------------------------------------------------------------
    @web.middleware
    async def _limits(self, request: web.Request, handler: Any) -> web.StreamResponse:
        size = sum(len(k) + len(v) for k, v in request.raw_headers)
        if size > LIMITS["headers"] and "takes-any-headers" not in self.flaws:
            return web.json_response({"error": "headers too large"}, status=431)
        if request.method != "POST" or request.path.startswith("/ws"):
            return await handler(request)
        declared = request.content_length
        if (
            declared is not None
            and declared > LIMITS["body"]
            and "waits-for-declared-body" not in self.flaws
        ):
            return web.json_response({"error": "too large"}, status=413, headers=_CLOSE)
        body = bytearray()
        while chunk := await request.content.readany():
            body += chunk
            if len(body) > LIMITS["body"] and not self.flaws & {
                "reads-any-body",
                "refuses-after-reading",
            }:
                return web.json_response({"error": "too large"}, status=413, headers=_CLOSE)
        if len(body) > LIMITS["body"] and "refuses-after-reading" in self.flaws:
            return web.json_response({"error": "too large"}, status=413, headers=_CLOSE)
        request[BODY] = bytes(body)
        return await handler(request)

    async def _echo(self, request: web.Request) -> web.Response:
        return web.json_response({"received": len(request[BODY])})

    async def _login(self, request: web.Request) -> web.Response:
        try:
            data = json.loads(request[BODY])
            email, password = str(data["email"]), str(data["password"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad request"}, status=400)
        client = request.remote or "?"
        keys = ("a:" + email, "c:" + client)
        if "no-throttle" not in self.flaws:
            spent = [self._failures[keys[0]] >= LIMITS["account"]]
            spent.append(self._failures[keys[1]] >= LIMITS["client"])
            if any(spent):
                return web.json_response({"error": "slow down"}, status=429, headers=_RETRY)
        stored = _STORED.get(email)
        if stored is None and "tells-unknown-accounts" in self.flaws:
            self._failures.update(keys)
            return web.json_response({"error": "no such account"}, status=401)
        if stored is None and "skips-hash-for-unknown" in self.flaws:
            ok = False
        else:
            ok = await asyncio.to_thread(_hash, password) == (stored or _DUMMY)
        if ok and stored is not None:
            self._failures.pop(keys[0], None)
            return web.json_response({"access_token": token(email, "admin")})
        self._failures.update(keys)
        return web.json_response({"error": "wrong e-mail or password"}, status=401)

    # -- WebSocket ----------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin not in (None, ALLOWED_ORIGIN) and "ws-takes-any-origin" not in self.flaws:
            return web.Response(status=403)
        claims = self._claims(request.query.get("token"))
        if claims is None:
            return web.Response(status=401)
        limit = 0 if "ws-any-frame" in self.flaws else LIMITS["frame"]
        socket_ = web.WebSocketResponse(max_msg_size=limit)
        await socket_.prepare(request)
        async for message in socket_:
            if message.type == WSMsgType.ERROR:  # e.g. a frame past the limit: closed 1009
                break
            if message.type != WSMsgType.TEXT:
                if "ws-closes-on-malformed" in self.flaws:
                    break
                await socket_.send_json({"type": "error", "message": "text frames only"})
                continue
            try:
                data = json.loads(message.data)
                channels = [str(c) for c in data["channels"] if isinstance(c, str)]
                if data["action"] != "subscribe" or len(channels) != len(data["channels"]):
                    raise ValueError("not a subscription")
            except (ValueError, KeyError, TypeError):
                if "ws-closes-on-malformed" in self.flaws:
                    break
                await socket_.send_json({"type": "error", "message": "malformed"})
                continue
            if all(self._may(claims, c) for c in channels):
                await socket_.send_json({"type": "subscribed", "channels": channels})
            else:
                await socket_.send_json({"type": "error", "message": "not allowed"})
        await socket_.close()
        return socket_

    def _claims(self, raw: str | None) -> dict[str, Any] | None:
        if raw is None:
            return (
                {"sub": "anonymous", "role": "anonymous"}
                if "ws-takes-anyone" in self.flaws
                else None
            )
        verify = "ws-takes-expired" not in self.flaws
        try:
            claims: dict[str, Any] = jwt.decode(
                raw, KEY, algorithms=["HS256"], options={"verify_exp": verify}
            )
        except jwt.InvalidTokenError:
            return None
        return claims

    def _may(self, claims: dict[str, Any], channel: str) -> bool:
        if "ws-any-channel" in self.flaws or claims["role"] == "admin":
            return True
        # a customer hears its own channel only
        return channel == f"owner:{claims['sub']}"

    # -- lifecycle ----------------------------------------------------------------------
    async def _start(self, sock: socket.socket) -> None:
        app = web.Application(middlewares=[self._limits], client_max_size=100 * MIB)
        app.router.add_post("/login", self._login)
        app.router.add_post("/echo", self._echo)
        app.router.add_get("/ws", self._ws)
        # the parser's own limits are lifted: the middleware decides, or a flaw lets through
        self._runner = web.AppRunner(app, max_field_size=4 * MIB, max_line_size=4 * MIB)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def __enter__(self) -> TinyApp:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(sock), self._loop).result(30)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


_CLOSE = {"Connection": "close"}
_RETRY = {"Retry-After": "60"}
