"""Readiness from declared dependencies, and the refusal window that outlives Redis."""

from __future__ import annotations

import asyncio
import socket

import pytest
from redis.asyncio import Redis

from wms.coordination.dependencies import Dependencies
from wms.coordination.security_stream import first_in_window


class Switch:
    """A dependency probe that answers or fails as told."""

    def __init__(self) -> None:
        self.up = True

    async def __call__(self) -> None:
        if not self.up:
            raise ConnectionRefusedError("down")


def test_a_dependency_lost_and_back_is_one_loss_one_recovery_and_readiness_follows() -> None:
    postgres, redis = Switch(), Switch()
    deps = Dependencies("worker", {"postgres": postgres, "redis": redis})

    async def scenario() -> list[tuple[bool, int, int]]:
        seen = []
        for up in (True, False, False, True, True):
            redis.up = up
            await deps.check()
            state = deps.states["redis"]
            seen.append((deps.ready, state.losses, state.recoveries))
        return seen

    assert asyncio.run(scenario()) == [
        (True, 0, 0),
        (False, 1, 0),
        (False, 1, 0),  # still the same loss
        (True, 1, 1),
        (True, 1, 1),
    ]
    assert deps.states["redis"].error is None
    assert deps.states["postgres"].losses == 0


def test_a_process_cannot_leave_a_declared_dependency_unprobed() -> None:
    with pytest.raises(ValueError, match="redis"):
        Dependencies("api", {"postgres": Switch()})


def test_the_refusal_window_holds_in_the_process_while_redis_cannot_answer() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed

    async def scenario() -> list[bool]:
        redis = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
        try:
            return [
                await first_in_window(redis, "wms:test:window:a", 60),
                await first_in_window(redis, "wms:test:window:a", 60),
                await first_in_window(redis, "wms:test:window:b", 60),
            ]
        finally:
            await redis.aclose()

    # reported (not lost with Redis), then held back like Redis would, per key
    assert asyncio.run(scenario()) == [True, False, True]
