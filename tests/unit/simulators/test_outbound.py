"""A simulator's outgoing calls: a failing one is logged, and a stop ends them all."""

from __future__ import annotations

import asyncio
import logging

import pytest

from interlock.simulators.outbound import Outbound


def test_a_failing_callback_task_is_logged_and_close_ends_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def deliver() -> None:
        raise ConnectionRefusedError("the app's webhook is not listening")

    async def forever() -> None:
        await asyncio.Event().wait()

    async def scenario() -> None:
        outbound = Outbound()
        failed = outbound.spawn(deliver())
        waiting = outbound.spawn(forever())
        await asyncio.gather(failed, return_exceptions=True)
        await outbound.close()
        assert waiting.cancelled()
        assert outbound.tasks == set()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert "the app's webhook is not listening" in caplog.text
