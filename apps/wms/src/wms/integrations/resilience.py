"""Calls to external services that survive the services misbehaving.

Every call passes, in order: load shedding by priority (by how busy the process is: its
slots for external calls, or a resource it watches such as the database pool), the
service's circuit breaker
(state in Redis, so the API and the worker see the same breaker), the service's own
capacity limit (a bulkhead: a hung service can only fill its own slots), a timeout,
and retries with full-jitter backoff on transient failures only, honouring Retry-After.
Each call is measured (latency, outcome, cost) for ``GET /api/v1/integrations``.

Adapters translate their SDK's exceptions into ``Transient`` (worth retrying; counts
against the breaker) or ``Permanent`` (a refusal: not retried, not a breaker failure).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import anyio
import pybreaker
import redis
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from wms.coordination.errors import report_error
from wms.errors import Conflict, InvalidInput, NotFound, UpstreamError, UpstreamUnavailable

log = logging.getLogger("wms.integrations")

__all__ = [
    "COSTS",
    "PRIORITIES",
    "ExternalService",
    "Permanent",
    "Policy",
    "Transient",
    "policy_for",
]

T = TypeVar("T")

#: the seed's priorities: under stress the lowest is shed first; 10 is never shed
PRIORITIES = {
    "stripe": 10,
    "samsara": 9,
    "twilio": 8,
    "mapbox": 8,
    "google": 8,
    "sendgrid": 7,
    "airtable": 5,
    "virustotal": 4,
    "abuseipdb": 4,
    "misp": 4,
    "greynoise": 4,
    "otx": 4,
}


#: list price per call in USD, for cost metering (budgets are per day)
COSTS = {
    "stripe": 0.0,
    "samsara": 0.0,
    "twilio": 0.0079,
    "sendgrid": 0.001,
    "mapbox": 0.002,
    "google": 0.005,
    "airtable": 0.0,
    "virustotal": 0.0,
    "abuseipdb": 0.0,
    "misp": 0.0,
    "greynoise": 0.0,
    "otx": 0.0,
}


def policy_for(
    name: str, *, timeout: float, fail_max: int = 5, reset_timeout: float = 10.0
) -> Policy:
    return Policy(
        priority=PRIORITIES.get(name, 5),
        timeout=timeout,
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        cost_per_call=COSTS.get(name, 0.0),
    )


class Transient(Exception):
    """A failure worth retrying: connection trouble, timeout, 429, 5xx."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """The service refused the request (4xx): retrying cannot help, the service is healthy.

    ``client_error`` names the code to answer our own caller with (422) when the refusal
    is about what that caller sent (an unknown card, a reused idempotency key); without
    it the refusal is ours to fix, and the caller sees a 502.
    """

    def __init__(
        self, message: str, *, client_error: str | None = None, client_status: int = 422
    ) -> None:
        super().__init__(message)
        self.client_error = client_error
        self.client_status = client_status


@dataclass(frozen=True, kw_only=True)
class Policy:
    priority: int = 5
    #: concurrent calls in flight at most (the bulkhead)
    capacity: int = 8
    #: seconds one attempt may take
    timeout: float = 5.0
    #: further attempts after the first, for transient failures of idempotent calls
    retries: int = 2
    backoff_base: float = 0.05
    backoff_max: float = 2.0
    #: consecutive failures that open the breaker, and seconds before it tries again
    fail_max: int = 5
    reset_timeout: float = 10.0
    #: USD per call, for cost metering
    cost_per_call: float = 0.0


@dataclass
class Stats:
    """A window of recent calls of one service in this process."""

    window: deque[tuple[float, bool]] = field(default_factory=lambda: deque(maxlen=500))
    calls: int = 0
    failures: int = 0
    shed: int = 0
    rejected_open: int = 0

    def record(self, seconds: float, ok: bool) -> None:
        self.calls += 1
        self.failures += 0 if ok else 1
        self.window.append((seconds, ok))

    def summary(self) -> dict[str, float | int | None]:
        latencies = sorted(s for s, _ in self.window)
        failed = sum(1 for _, ok in self.window if not ok)

        def pct(p: float) -> float | None:
            if not latencies:
                return None
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

        return {
            "calls": self.calls,
            "failures": self.failures,
            "shed": self.shed,
            "rejected_by_breaker": self.rejected_open,
            "error_rate": round(failed / len(self.window), 4) if self.window else 0.0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
        }


class _Pressure:
    """How busy this process is, for shedding by priority: its external calls in flight
    against their capacity, and the share in use of each watched resource."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.capacity = 0
        #: (resource, share of it in use now, 0 to 1), one per watch
        self.gauges: list[tuple[str, Callable[[], float]]] = []


class ExternalService:
    """One external service behind breaker, bulkhead, timeout and retries."""

    _pressure = _Pressure()

    def __init__(
        self,
        name: str,
        policy: Policy | None = None,
        *,
        redis_url: str | None = None,
        budget_usd: float | None = None,
    ) -> None:
        self.name = name
        self.budget_usd = budget_usd
        self._redis: redis.Redis | None = None
        self.policy = policy or Policy(priority=PRIORITIES.get(name, 5))
        self.stats = Stats()
        #: calls of this service under way in this process, waiting for a slot or running
        self.in_flight = 0
        #: the breaker's trial call is under way in this process (the others fail fast)
        self._trial_under_way = False
        self._limiter = anyio.CapacityLimiter(self.policy.capacity)
        self._pressure.capacity += self.policy.capacity
        storage: pybreaker.CircuitBreakerStorage = pybreaker.CircuitMemoryStorage(
            pybreaker.STATE_CLOSED
        )
        if redis_url:
            client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
            self._redis = client
            try:
                storage = pybreaker.CircuitRedisStorage(
                    pybreaker.STATE_CLOSED, client, namespace=f"wms:breaker:{name}"
                )
            except redis.RedisError:
                # Redis is up before the app in any stack; if not, a private breaker is
                # better than none
                log.warning("breaker of %s kept in memory: Redis unreachable", name)
        self._storage = storage
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=self.policy.fail_max,
            reset_timeout=self.policy.reset_timeout,
            exclude=[Permanent],
            state_storage=storage,
            name=name,
        )

    # -- the view for /integrations ------------------------------------------------------
    @property
    def breaker_state(self) -> str:
        try:
            return str(self.breaker.current_state)
        except redis.RedisError:
            return "unknown"

    def _open_and_waiting(self) -> bool:
        """Open and not yet due for a trial call: fail fast without touching a thread."""
        try:
            if self.breaker.current_state != pybreaker.STATE_OPEN:
                return False
            opened = self._storage.opened_at
        except redis.RedisError:
            return False  # no shared state: let the call decide
        if opened is None:
            return True
        return (datetime.now(UTC) - opened).total_seconds() < self.policy.reset_timeout

    @classmethod
    def watch(cls, resource: str, in_use: Callable[[], float]) -> Callable[[], None]:
        """Count ``in_use()`` (the share of ``resource`` in use, 0 to 1) in the load that
        shedding goes by: when the database slows down and its pool fills, the least
        critical external work is shed first, as when the external calls themselves pile
        up. Returns the call that stops this watch (each watch stops on its own: two
        runtimes in one process, one after the other or side by side, each watch theirs).
        """
        gauges = cls._pressure.gauges
        gauge = (resource, in_use)
        gauges.append(gauge)

        def unwatch() -> None:
            if gauge in gauges:
                gauges.remove(gauge)

        return unwatch

    @classmethod
    def load(cls) -> float:
        """How busy this process is (what shedding goes by): the larger of the share of its
        external-call capacity in use and the share in use of each watched resource."""
        pressure = cls._pressure
        calls = pressure.in_flight / pressure.capacity if pressure.capacity else 0.0
        return max([calls, *(in_use() for _, in_use in pressure.gauges)])

    def _should_shed(self) -> bool:
        if self.policy.priority >= 10:
            return False
        # priority 9 goes at 90 % load, priority 4 at 40 %: the least critical first
        return self.load() >= self.policy.priority / 10

    # -- a call ----------------------------------------------------------------------------
    async def call(self, fn: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run blocking ``fn`` (an SDK call) under the service's policy.

        A non-idempotent call (a POST without an idempotency key) is never retried. Every
        failure but a refusal of what our caller sent is reported as an error event.
        """
        try:
            return await self._call(fn, idempotent=idempotent)
        except UpstreamError as exc:  # UpstreamUnavailable too
            # what the breaker counted: every attempt, when the retries ran out
            exhausted = exc.code == UpstreamUnavailable.code
            attempts = 1 + (self.policy.retries if idempotent else 0) if exhausted else 0
            report_error(exc.code, self.name, exc.message, status=exc.status, attempts=attempts)
            raise

    async def _call(self, fn: Callable[[], T], *, idempotent: bool) -> T:
        if self._should_shed():
            self.stats.shed += 1
            raise UpstreamUnavailable(self.name, "shed under load (low priority)", code="shed")
        if self._open_and_waiting():
            self.stats.rejected_open += 1
            raise UpstreamUnavailable(self.name, "circuit open: failing fast", code="circuit_open")
        attempts = 1 + (self.policy.retries if idempotent else 0)
        backoff = wait_random_exponential(
            multiplier=self.policy.backoff_base, max=self.policy.backoff_max
        )

        def wait(state: RetryCallState) -> float:
            jittered = float(backoff(state))
            error = state.outcome.exception() if state.outcome else None
            after = error.retry_after if isinstance(error, Transient) else None
            return max(jittered, after or 0.0)

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=wait,
                reraise=True,
                retry=retry_if_exception_type(Transient),
            ):
                with attempt:
                    return await self._once(fn)
        except Transient as exc:
            raise UpstreamUnavailable(self.name, str(exc)) from None
        except Permanent as exc:
            if exc.client_error:
                kind = {404: NotFound, 409: Conflict}.get(exc.client_status, InvalidInput)
                raise kind(f"{self.name}: {exc}", code=exc.client_error) from None
            raise UpstreamError(self.name, str(exc)) from None
        except pybreaker.CircuitBreakerError:
            self.stats.rejected_open += 1
            raise UpstreamUnavailable(
                self.name, "circuit open: failing fast", code="circuit_open"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _metered(self, fn: Callable[[], T]) -> T:
        """In the worker thread: the call, then its outcome told to the breaker, then its cost.

        The call runs outside the breaker: pybreaker holds a lock through ``call``, so
        every call of the service would wait for the one before it, and one hung call
        would hold them all (the bulkhead's slots would be a queue of one).
        """
        try:
            result = fn()
        except Exception as exc:
            error = exc

            def replay() -> T:
                raise error

            if isinstance(error, Permanent):
                self._charge()  # the service did the work of refusing
            return self.breaker.call(replay)  # raises error, or CircuitBreakerError
        self._charge()
        try:
            return self.breaker.call(lambda: result)
        except pybreaker.CircuitBreakerError:
            return result  # other calls opened the breaker meanwhile; this one was answered

    def _trial(self) -> bool:
        """Whether the next attempt is the breaker's trial (it is open or half-open and
        due): one trial at a time in this process, so a hung service costs one call per
        reset period. Raises CircuitBreakerError while open and not yet due, or while
        another trial is under way."""
        if self._open_and_waiting():
            raise pybreaker.CircuitBreakerError("circuit open: failing fast")
        try:
            closed = self.breaker.current_state == pybreaker.STATE_CLOSED
        except redis.RedisError:
            return False  # no shared state: let the call decide
        if closed:
            return False
        if self._trial_under_way:
            raise pybreaker.CircuitBreakerError("a trial call is under way: failing fast")
        return True

    def _charge(self) -> None:
        if self._redis is None or self.policy.cost_per_call <= 0:
            return
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        try:
            total = float(
                self._redis.incrbyfloat(f"wms:cost:{self.name}:{day}", self.policy.cost_per_call)
            )
            self._redis.expire(f"wms:cost:{self.name}:{day}", 3 * 86400)
            if self.budget_usd:
                for pct in (50, 80, 100):
                    if total >= self.budget_usd * pct / 100 and self._redis.set(
                        f"wms:cost-alert:{self.name}:{day}:{pct}", 1, nx=True, ex=86400
                    ):
                        self._alert(pct, total)
        except redis.RedisError as exc:
            log.warning("cost of %s not recorded: %s", self.name, exc)

    def _alert(self, pct: int, total: float) -> None:
        event = {
            "id": str(uuid.uuid4()),
            "type": "integration.budget_threshold",
            "channel": "security",
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {
                "service": self.name,
                "threshold_pct": pct,
                "spent_usd": round(total, 4),
                "budget_usd": self.budget_usd,
            },
        }
        assert self._redis is not None
        self._redis.publish("wms.events.security", json.dumps(event))
        log.warning("%s spent %.4f USD today: %d %% of its budget", self.name, total, pct)

    def cost_today(self) -> float | None:
        if self._redis is None:
            return None
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        try:
            value = self._redis.get(f"wms:cost:{self.name}:{day}")
        except redis.RedisError:
            return None
        return round(float(value), 4) if value is not None else 0.0

    async def _once(self, fn: Callable[[], T]) -> T:
        trial = self._trial()
        self._trial_under_way = trial or self._trial_under_way
        began = time.perf_counter()
        self._pressure.in_flight += 1
        self.in_flight += 1
        ok = False
        try:
            result = await asyncio.wait_for(
                anyio.to_thread.run_sync(self._metered, fn, limiter=self._limiter),
                self.policy.timeout,
            )
            ok = True
            return result
        except TimeoutError:
            raise Transient(f"no answer within {self.policy.timeout:g} s") from None
        except Permanent:
            ok = True  # the service answered; the request was wrong
            raise
        finally:
            if trial:
                self._trial_under_way = False
            self._pressure.in_flight -= 1
            self.in_flight -= 1
            self.stats.record(time.perf_counter() - began, ok)
