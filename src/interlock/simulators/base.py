"""The simulator base: a stateful aiohttp app with a request journal, faults and a control API.

A handler refuses a request by raising ``Refused(status, body)`` (or
``Refused(status, message=...)`` for the service's own error shape); the base turns it
into the response, in one place, as it does for what every service refuses alike: a
body that is not UTF-8 (400) and one larger than the service's ``max_body_bytes`` (413).

Every simulator serves its service's wire format on its own port, and under
``/__interlock/`` a control surface shared by all of them:

    GET    /__interlock/health        liveness
    GET    /__interlock/journal       calls so far (?since=SEQ); secrets redacted
    DELETE /__interlock/journal       forget the calls
    POST   /__interlock/reset         state, journal and faults back to the start (the
                                      baseline seed data, if the host was given one)
    GET    /__interlock/state         the service's readable state (outbox, objects, ...)
    POST   /__interlock/seed          add data the service should already hold
    GET    /__interlock/faults        active fault rules
    POST   /__interlock/faults        add one (see FaultRule); answers with its id
    DELETE /__interlock/faults[/ID]   remove all rules, or one
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.faults import FaultPlan, FaultRule

__all__ = ["CONTROL_PREFIX", "Refused", "Simulator", "json_response"]

CONTROL_PREFIX = "/__interlock"
#: request headers that carry credentials; their values never reach a journal
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-apikey",
        "key",
        "x-otx-api-key",
        "cookie",
        "x-misp-auth",
        "x-api-key",
        "stripe-signature",
    }
)
#: query parameters that carry credentials (Google's key, Mapbox's access_token, ...)
SECRET_PARAMS = frozenset({"key", "access_token", "api_key", "apikey", "token", "signature"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, content_type="application/json", headers=headers
    )


class Refused(Exception):
    """A request the service refuses, raised from anywhere in a handler and answered once,
    by the base: with ``body`` (JSON) as given, or, without one, with the service's own
    ``error_response(status, message)``; ``headers`` (e.g. Retry-After) are added."""

    def __init__(
        self,
        status: int,
        body: Any = None,
        *,
        message: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or str(status))
        self.status = status
        self.body = body
        self.message = message
        self.headers = headers or {}


class Simulator:
    """Base of every service simulator. Subclasses add routes, state and the error shape."""

    #: the service's name, as used in configuration and fault specs
    name: ClassVar[str] = ""
    #: the largest request body the service takes, in bytes; a larger one is refused with
    #: 413 in the service's error format (each simulator sets its provider's limit)
    max_body_bytes: ClassVar[int] = 8 * 1024 * 1024
    #: what the simulator serves, named when it refuses anything else as not simulated
    serves: ClassVar[str] = ""
    #: the seed data keys the simulator understands; any other is refused (a seed that
    #: silently did nothing would leave a test asserting on a state that never was)
    seed_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.faults = FaultPlan(seed)
        self.journal: list[dict[str, Any]] = []
        self._seq = 0
        #: seed data applied at the start and again after every reset (see set_baseline)
        self.baseline: dict[str, Any] | None = None
        self.reset_state()

    # -- what a service defines -------------------------------------------------------
    def reset_state(self) -> None:
        """Drop every object the service holds."""

    def routes(self) -> list[web.RouteDef]:
        return []

    def state(self) -> dict[str, Any]:
        return {}

    def seed_data(self, data: dict[str, Any]) -> None:
        raise ConfigError(f"the {self.name} simulator takes no seed data")

    def authenticate(self, request: web.Request) -> web.Response | None:
        """None when the request carries valid credentials, else the service's own 401."""
        return None

    def error_response(self, status: int, message: str) -> web.Response:
        """The service's error body for ``status``; subclasses use the real shape.

        Handlers refuse by raising ``Refused``; the base answers with this, for its own
        refusals too (a body that is not UTF-8, one over ``max_body_bytes``, a fault)."""
        return json_response({"error": {"message": message, "status": status}}, status=status)

    # -- the app ----------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=self.max_body_bytes)
        app.add_routes(
            [
                web.get(f"{CONTROL_PREFIX}/health", self._health),
                web.get(f"{CONTROL_PREFIX}/journal", self._journal),
                web.delete(f"{CONTROL_PREFIX}/journal", self._clear_journal),
                web.post(f"{CONTROL_PREFIX}/reset", self._reset),
                web.get(f"{CONTROL_PREFIX}/state", self._state),
                web.post(f"{CONTROL_PREFIX}/seed", self._seed),
                web.get(f"{CONTROL_PREFIX}/faults", self._list_faults),
                web.post(f"{CONTROL_PREFIX}/faults", self._add_fault),
                web.delete(f"{CONTROL_PREFIX}/faults", self._clear_faults),
                web.delete(f"{CONTROL_PREFIX}/faults/{{rule_id}}", self._remove_fault),
            ]
        )
        app.add_routes(self.routes())
        # last: whatever no route serves is refused by name, never half-answered or taken
        # for a resource the real service lacks
        app.add_routes([web.route("*", "/{tail:.*}", self._not_simulated)])
        return app

    async def _not_simulated(self, request: web.Request) -> web.Response:
        served = f" (the {self.name} simulator serves {self.serves})" if self.serves else ""
        return self.error_response(501, f"not simulated: {request.method} {request.path}{served}")

    def apply_seed(self, data: dict[str, Any]) -> None:
        """Apply seed data after checking its keys; ConfigError names any unknown key."""
        unknown = set(data) - self.seed_keys
        if unknown:
            raise ConfigError(
                f"unknown {self.name} seed key(s) {', '.join(sorted(unknown))}",
                hint=f"known: {', '.join(sorted(self.seed_keys)) or 'none'}",
            )
        self.seed_data(data)

    def set_baseline(self, data: dict[str, Any]) -> None:
        """Hold ``data`` now and after every reset: the state a run starts from."""
        self.apply_seed(copy.deepcopy(data))
        self.baseline = copy.deepcopy(data)

    def reset(self) -> None:
        self.journal.clear()
        self.faults.clear()
        self.rng = random.Random(self.seed)
        self.reset_state()
        if self.baseline is not None:
            self.seed_data(copy.deepcopy(self.baseline))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        too_large = None
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            body = b""
            too_large = self.error_response(
                413, f"The request body is larger than {self.max_body_bytes} bytes."
            )
        entry: dict[str, Any] = {
            "seq": self._next_seq(),
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": {
                key: ("***" if key.lower() in SECRET_PARAMS else value)
                for key, value in request.query.items()
            },
            "headers": {
                key: ("***" if key.lower() in SECRET_HEADERS else value)
                for key, value in request.headers.items()
            },
            "body": body.decode("utf-8", errors="replace"),
            "status": None,
            "fault": None,
        }
        self.journal.append(entry)
        if too_large is not None:
            entry["status"] = too_large.status
            return too_large
        rule = self.faults.pick(request.method, request.path)
        if rule is not None:
            entry["fault"] = rule.kind
            response = await self._apply_fault(rule, request)
            if response is None:  # latency, or a drop after the work: serve normally
                response = await self._serve(request, handler)
                if rule.kind == "drop":
                    # the call took effect but its answer is lost, as when a connection
                    # breaks on the way back: only an idempotent retry is safe now
                    entry["status"] = response.status
                    if request.transport is not None:
                        request.transport.abort()
                    raise asyncio.CancelledError
        else:
            response = await self._serve(request, handler)
        entry["status"] = response.status
        return response

    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        try:
            return await handler(request)
        except Refused as refused:
            if refused.body is None:
                response = self.error_response(refused.status, refused.message)
            else:
                response = json_response(refused.body, status=refused.status)
            response.headers.update(refused.headers)
            return response
        except UnicodeDecodeError:
            # the providers refuse such a body in their own format, never with a bare 500
            return self.error_response(400, "The request body is not valid UTF-8.")
        except web.HTTPException as exc:
            if exc.status >= 400:
                return self.error_response(exc.status, exc.reason or "error")
            raise

    async def _apply_fault(
        self, rule: FaultRule, request: web.Request
    ) -> web.StreamResponse | None:
        if rule.kind == "latency":
            await asyncio.sleep(rule.delay_seconds(self.faults.rng))
            return None
        if rule.kind == "status":
            if rule.body is not None:
                return json_response(rule.body, status=rule.status)
            return self.error_response(rule.status, f"simulated failure ({rule.status})")
        if rule.kind == "rate_limit":
            response = self.error_response(429, "Too many requests (simulated)")
            # whole seconds, as HTTP says: urllib3 refuses "0.5" and treats it as no header
            response.headers["Retry-After"] = str(math.ceil(rule.retry_after))
            return response
        if rule.kind == "malformed":
            return web.Response(
                text='{"truncated": tru', status=200, content_type="application/json"
            )
        if rule.kind == "drop" and rule.after:
            return None  # served first; the connection is cut in _middleware
        if rule.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        # hang: hold the call until the client gives up and disconnects
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- control handlers -------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.Response:
        return json_response({"service": self.name, "status": "ok"})

    async def _journal(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return json_response({"error": "since must be an integer"}, status=400)
        return json_response([entry for entry in self.journal if entry["seq"] > since])

    async def _clear_journal(self, request: web.Request) -> web.Response:
        self.journal.clear()
        return json_response({"ok": True})

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return json_response({"ok": True})

    async def _state(self, request: web.Request) -> web.Response:
        return json_response(self.state())

    async def _seed(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ConfigError("seed data must be a JSON object")
            self.apply_seed(data)
        except (ConfigError, json.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"ok": True})

    async def _list_faults(self, request: web.Request) -> web.Response:
        return json_response([rule.to_dict() for rule in self.faults.rules])

    async def _add_fault(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ConfigError("a fault must be a JSON object")
            rule = self.faults.add(FaultRule.from_dict(data))
        except (ConfigError, json.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response(rule.to_dict(), status=201)

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return json_response({"ok": True})

    async def _remove_fault(self, request: web.Request) -> web.Response:
        try:
            removed = self.faults.remove(int(request.match_info["rule_id"]))
        except ValueError:
            removed = False
        return json_response({"removed": removed}, status=200 if removed else 404)
