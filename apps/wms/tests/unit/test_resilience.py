"""Shedding by priority, driven by the load itself rather than by a race against a timeout."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from wms.errors import UpstreamUnavailable
from wms.integrations.resilience import ExternalService, Policy

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
