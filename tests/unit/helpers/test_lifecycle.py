"""Every helper client refuses use once closed, and is entered once (httpx's ClientState)."""

from __future__ import annotations

import pytest

from interlock.helpers import ClientClosed, EventListener, WebSocketFactory
from interlock.lifecycle import Lifecycle
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
