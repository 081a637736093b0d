"""Shedding by priority, driven by the load itself rather than by a race against a timeout."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from wms.errors import UpstreamUnavailable
from wms.integrations.resilience import ExternalService, Policy, Transient

NAMES = ("otx", "sendgrid", "twilio", "stripe")  # priorities 4, 7, 8, 10


class Load:
    """Calls that stay in flight until released: the process's load rises exactly as asked."""

    def __init__(self) -> None:
        self.blocker = ExternalService("blocker", Policy(priority=10, timeout=60))
        self.release = threading.Event()
        self.held: list[asyncio.Task[bool]] = []

    async def raise_to(self, level: float) -> None:
        while ExternalService.load() < level:
            self.held.append(asyncio.create_task(self.blocker.call(self.release.wait)))
            while self.blocker.in_flight < len(self.held):
                await asyncio.sleep(0)  # let the new call start; no time passes

    async def drop(self) -> None:
        self.release.set()
        await asyncio.gather(*self.held)


async def outcome(service: ExternalService, fn: Callable[[], object] = lambda: None) -> str:
    """ "ok", or the code of the refusal (``shed``, ``circuit_open``)."""
    try:
        await service.call(fn)
    except UpstreamUnavailable as exc:
        return exc.code
    return "ok"


def test_the_lowest_priorities_are_shed_first_as_the_load_rises() -> None:
    async def scenario() -> dict[float, set[str]]:
        services = {name: ExternalService(name) for name in NAMES}
        load, shed = Load(), {}
        try:
            for level in (0.0, 0.45, 0.75, 0.85, 1.0):
                await load.raise_to(level)
                shed[level] = {n for n, s in services.items() if await outcome(s) == "shed"}
        finally:
            await load.drop()
        return shed

    shed = asyncio.run(scenario())
    assert shed[0.0] == set()
    assert shed[0.45] == {"otx"}
    assert shed[0.75] == {"otx", "sendgrid"}
    assert shed[0.85] == {"otx", "sendgrid", "twilio"}
    assert shed[1.0] == {"otx", "sendgrid", "twilio"}  # Stripe (10) never is


def test_a_shed_call_is_counted_and_never_reaches_the_service() -> None:
    reached: list[str] = []

    async def scenario() -> tuple[str, ExternalService]:
        otx, load = ExternalService("otx"), Load()
        try:
            await load.raise_to(0.5)
            return await outcome(otx, lambda: reached.append("otx")), otx
        finally:
            await load.drop()

    result, otx = asyncio.run(scenario())
    assert (result, otx.stats.shed, otx.stats.calls, reached) == ("shed", 1, 0, [])


def test_a_busy_database_sheds_the_lowest_priorities_first() -> None:
    """The pool of a slowed database fills up while no external call is in flight: the
    process is busy all the same, and sheds as it would under external load."""
    in_use = 0.0
    stop_watching = ExternalService.watch("database", lambda: in_use)

    async def scenario() -> dict[float, set[str]]:
        nonlocal in_use
        services = {name: ExternalService(name) for name in NAMES}
        shed = {}
        for in_use in (0.0, 0.45, 0.75, 0.85, 1.0):
            shed[in_use] = {n for n, s in services.items() if await outcome(s) == "shed"}
        return shed

    try:
        shed = asyncio.run(scenario())
        assert ExternalService.load() == 1.0
    finally:
        stop_watching()
    assert ExternalService.load() == 0.0  # no longer watched
    assert shed[0.0] == set()
    assert shed[0.45] == {"otx"}
    assert shed[0.75] == {"otx", "sendgrid"}
    assert shed[0.85] == {"otx", "sendgrid", "twilio"}
    assert shed[1.0] == {"otx", "sendgrid", "twilio"}  # Stripe (10) never is


def test_calls_of_one_service_run_side_by_side_not_one_after_another() -> None:
    """Three calls that can only finish together (a barrier): the breaker must not make
    them wait for one another, or one hung call would hold every other."""
    meet = threading.Barrier(3, timeout=10)

    async def scenario() -> list[str]:
        service = ExternalService("sendgrid", Policy(timeout=20, retries=0))
        return list(await asyncio.gather(*(outcome(service, meet.wait) for _ in range(3))))

    assert asyncio.run(scenario()) == ["ok", "ok", "ok"]


def test_an_open_breaker_lets_one_trial_through_and_the_others_fail_fast() -> None:
    release = threading.Event()

    def fail() -> None:
        raise Transient("no answer")

    async def scenario() -> tuple[str, str, str, str]:
        # opens at the first failure; due for a trial at once
        service = ExternalService(
            "sendgrid", Policy(timeout=20, retries=0, fail_max=1, reset_timeout=0.0)
        )
        opened = await outcome(service, fail)
        trial = asyncio.create_task(outcome(service, release.wait))
        while service.in_flight < 1:
            await asyncio.sleep(0)  # let the trial start; no time passes
        # a second call while the trial hangs fails at once, without waiting for it
        during = await asyncio.wait_for(outcome(service), timeout=10)
        release.set()
        return opened, during, await trial, await outcome(service)

    opened, during, trial, after = asyncio.run(scenario())
    assert opened == "circuit_open"
    assert during == "circuit_open"
    assert trial == "ok"
    assert after == "ok"  # the trial's success closed the breaker
