"""Every helper client refuses use once closed, and is entered once (httpx's ClientState)."""

from __future__ import annotations

import pytest

from interlock.helpers import (
    ApiClient,
    ClientClosed,
    DatabaseHelper,
    EventListener,
    WebSocketFactory,
)
from interlock.lifecycle import Closing, Lifecycle, StateError
from interlock.lifecycle import State as ClientState


def test_a_lifecycle_opens_on_use_and_closes_for_good():
    life = Lifecycle("the thing")
    assert life.state is ClientState.UNOPENED
    life.use()
    assert life.state is ClientState.OPENED
    assert life.close() is True
    assert life.close() is False  # a second close frees nothing twice
    with pytest.raises(ClientClosed, match="the thing is closed and cannot be used or reopened"):
        life.use()
    with pytest.raises(ClientClosed):
        life.enter()


def test_a_lifecycle_is_entered_once():
    life = Lifecycle("the thing")
    life.enter()
    with pytest.raises(RuntimeError, match="the thing is already open"):
        life.enter()


def test_a_closed_redis_listener_refuses_commands_and_subscriptions():
    listener = EventListener("redis://127.0.0.1:1/0", timeout=1)  # connects only when used
    listener.close()
    with pytest.raises(ClientClosed, match="the redis listener is closed"):
        listener.client.ping()
    with pytest.raises(ClientClosed), listener.subscribe("events"):
        pass


def test_a_closed_websocket_factory_opens_no_connection():
    with WebSocketFactory("http://127.0.0.1:1", timeout=1) as factory:
        pass
    with pytest.raises(ClientClosed, match="the websocket factory is closed"):
        factory.connect("/ws")


class _Held(Closing):
    def __init__(self) -> None:
        self._lifecycle = Lifecycle("the held thing")
        self.closes = 0

    def close(self) -> None:
        if self._lifecycle.close():
            self.closes += 1


def test_a_with_block_opens_once_and_closes_even_when_it_raises():
    held = _Held()

    def fail_inside() -> None:
        with held as entered:
            assert entered is held
            with pytest.raises(StateError, match="the held thing is already open"):
                held.__enter__()
            raise ValueError("the test failed")

    with pytest.raises(ValueError, match="the test failed"):
        fail_inside()
    assert held.closes == 1
    with pytest.raises(ClientClosed, match="the held thing was closed"):
        held.__enter__()


@pytest.mark.parametrize(
    ("make", "what"),
    [
        # none connects before it is used
        (lambda: DatabaseHelper("postgresql://127.0.0.1:1/none", timeout=1), "the db helper"),
        (lambda: EventListener("redis://127.0.0.1:1/0", timeout=1), "the redis listener"),
        (lambda: ApiClient("http://127.0.0.1:1", timeout=1), "the api client"),
        (lambda: WebSocketFactory("http://127.0.0.1:1", timeout=1), "the websocket factory"),
    ],
    ids=["db", "redis", "api", "ws"],
)
def test_every_helper_is_entered_once_and_closed_by_its_block(make, what):
    with make() as helper, pytest.raises(StateError, match=f"{what} is already open"):
        helper.__enter__()
    with pytest.raises(ClientClosed, match=f"{what} was closed"):
        helper.__enter__()
