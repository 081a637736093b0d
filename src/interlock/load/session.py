"""What a workflow talks through: a virtual user's HTTP and WebSocket session, checks, think."""

from __future__ import annotations

import asyncio
import json as jsonlib
import random
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any, final

from interlock.load.http import HttpError, Pool, Response, Target, build_request
from interlock.load.metrics import Metrics
from interlock.load.think import Think

__all__ = ["CheckFailed", "Session"]

_perf = time.perf_counter


class CheckFailed(Exception):
    """Raised by ``Session.require`` when a check does not hold (the iteration fails)."""


@final
class Session:
    """One virtual user: keep-alive connections to the target, its random source, its data row.

    Every request is timed as a step named ``name`` (default ``"METHOD path"``); a status of
    400 or more (or outside ``expect``) counts as a failed step (error kind ``"status N"``)
    and fails the iteration; a request with no answer raises ``HttpError`` (the iteration
    fails with its kind). ``data`` is the feeder's row for the current iteration (None
    without a feeder).
    """

    __slots__ = (
        "_cache",
        "_metrics",
        "_pool",
        "_think",
        "data",
        "failure",
        "rng",
        "target",
        "timeout",
        "vu",
    )

    def __init__(
        self,
        *,
        vu: int,
        target: Target,
        metrics: Metrics,
        think: Think,
        timeout: float,
        cache: dict[tuple[str, str], bytes],
        seed: int | None = None,
    ) -> None:
        self.vu = vu
        self.target = target
        self.timeout = timeout
        self.rng = random.Random(None if seed is None else seed + vu)
        self.data: Any = None
        #: the first failed step of the current iteration (it fails the iteration), or None
        self.failure: str | None = None
        self._metrics = metrics
        self._think = think
        self._pool = Pool()
        self._cache = cache

    async def request(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        json: Any = None,
        timeout: float | None = None,
        expect: Collection[int] | None = None,
    ) -> Response:
        """Send one request to the target (``path`` after its base URL); raises HttpError.

        A status in ``expect`` (default: any below 400) is a success; any other fails the
        step and, once the workflow returns, the iteration.
        """
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
        if headers is None and body is None:
            key = (method, path)
            raw = self._cache.get(key)
            if raw is None:
                raw = self._cache[key] = build_request(method, self.target, path)
        else:
            raw = build_request(method, self.target, path, headers=dict(headers or {}), body=body)
        step = name or f"{method} {path}"
        start = _perf()
        try:
            response = await self._pool.send(self.target, raw, timeout or self.timeout)
        except HttpError as exc:
            self._metrics.record_step(step, (_perf() - start) * 1000, False, exc.kind)
            raise
        ok = response.status < 400 if expect is None else response.status in expect
        error = None if ok else f"status {response.status}"
        self._metrics.record_step(step, (_perf() - start) * 1000, ok, error)
        if error is not None and self.failure is None:
            self.failure = f"{step}: {error}"
        return response

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, **kwargs)

    async def head(self, path: str, **kwargs: Any) -> Response:
        return await self.request("HEAD", path, **kwargs)

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[None]:
        """Time a group of calls as one step; an exception marks it failed and propagates."""
        start = _perf()
        try:
            yield
        except Exception as exc:
            kind = exc.kind if isinstance(exc, HttpError) else type(exc).__name__
            self._metrics.record_message(kind, exc)
            self._metrics.record_step(name, (_perf() - start) * 1000, False, kind)
            raise
        self._metrics.record_step(name, (_perf() - start) * 1000, True, None)

    @asynccontextmanager
    async def websocket(self, path: str, *, name: str | None = None) -> AsyncIterator[Any]:
        """A WebSocket to the target (``ws://`` or ``wss://`` + path); the handshake is the step.

        Yields a ``websockets`` client connection (``send``, ``recv``), closed on the way out.
        """
        from websockets.asyncio.client import connect

        scheme = "wss" if self.target.tls else "ws"
        url = f"{scheme}://{self.target.host}:{self.target.port}{self.target.base_path}{path}"
        step = name or f"WS {path}"
        start = _perf()
        try:
            ws = await connect(url, open_timeout=self.timeout)
        except Exception as exc:
            self._metrics.record_step(step, (_perf() - start) * 1000, False, type(exc).__name__)
            raise
        self._metrics.record_step(step, (_perf() - start) * 1000, True, None)
        try:
            yield ws
        finally:
            await ws.close()

    def check(self, value: Any, checks: Mapping[str, Callable[[Any], bool]]) -> bool:
        """Count each named check as passed or failed (k6's ``check``); True if all passed.

        A failed check does not end the iteration; use ``require`` for that.
        """
        passed = True
        for label, predicate in checks.items():
            try:
                ok = bool(predicate(value))
            except Exception:
                ok = False
            self._metrics.record_check(label, ok)
            passed = passed and ok
        return passed

    def require(self, value: Any, checks: Mapping[str, Callable[[Any], bool]]) -> None:
        """As ``check``, then raise CheckFailed (the iteration fails) if any did not hold."""
        if not self.check(value, checks):
            raise CheckFailed(", ".join(checks))

    async def think(self, seconds: float | None = None) -> None:
        """Pause for ``seconds``, or for a draw from the scenario's think-time distribution."""
        pause = self._think.draw(self.rng) if seconds is None else seconds
        if pause > 0:
            await asyncio.sleep(pause)

    def close(self) -> None:
        self._pool.close()
