"""What the fault proxy and the balancing front share (TcpFront): both loop styles, taking
the port, refusing misuse, and dropping every connection when they stop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from interlock.faults import Proxy, ProxyUnavailable
from interlock.faults.front import TcpFront
from interlock.lifecycle import ClientClosed, StateError
from interlock.stack.balancer import Backend, Balancer

if TYPE_CHECKING:
    from .conftest import Clients

Make = Callable[..., TcpFront]


def _proxy(echo: tuple[str, int], port: int = 0) -> TcpFront:
    return Proxy(echo, name="front", port=port)


def _balancer(echo: tuple[str, int], port: int = 0) -> TcpFront:
    return Balancer([Backend("echo", *echo)], name="front", port=port)


FRONTS = pytest.mark.parametrize(
    ("make", "what"),
    [(_proxy, "fault proxy 'front'"), (_balancer, "balancing front 'front'")],
    ids=["proxy", "balancer"],
)


def _open_connections(front: TcpFront) -> int:
    if isinstance(front, Proxy):
        return front.stats().connections
    assert isinstance(front, Balancer)
    return front.connections()


def _loop_threads() -> list[str]:
    return [
        t.name for t in threading.enumerate() if t.name in ("fault-proxy-front", "balancer-front")
    ]


@FRONTS
def test_stop_drops_an_open_connection_and_leaves_nothing_running(
    make: Make, what: str, echo: tuple[str, int], clients: Clients
) -> None:
    with make(echo) as front:
        sock = clients.connect((front.host, front.port))
        clients.round_trip(sock)
        assert _open_connections(front) == 1
        assert len(_loop_threads()) == 1
    # dropped, not left open: the client sees its end at once (a reset, or end of file)
    with contextlib.suppress(ConnectionResetError):
        assert clients.read_to_eof(sock) == b""
    assert _open_connections(front) == 0
    assert _loop_threads() == []
    with pytest.raises(ClientClosed, match=f"{what} was closed"):
        front.__enter__()


@FRONTS
def test_a_taken_port_raises_naming_the_front_and_starts_nothing(
    make: Make, what: str, echo: tuple[str, int]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        front = make(echo, port=taken.getsockname()[1])
        with pytest.raises(ProxyUnavailable, match=f"{what} cannot listen on 127.0.0.1:"):
            front.__enter__()
    assert _loop_threads() == []
    with pytest.raises(ClientClosed):
        front.__enter__()


@FRONTS
def test_entering_a_running_front_again_is_an_error_and_it_keeps_serving(
    make: Make, what: str, echo: tuple[str, int], clients: Clients
) -> None:
    with make(echo) as front:
        with pytest.raises(StateError, match=f"{what} is already open"):
            front.__enter__()
        assert len(_loop_threads()) == 1
        clients.round_trip(clients.connect((front.host, front.port)))


@FRONTS
def test_a_front_runs_on_the_callers_loop(make: Make, what: str, echo: tuple[str, int]) -> None:
    async def scenario() -> TcpFront:
        async with make(echo) as front:
            reader, writer = await asyncio.open_connection(front.host, front.port)
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            # left open: the front's stop must drop it
        with contextlib.suppress(ConnectionResetError):
            assert await reader.read() == b""
        writer.close()
        return front

    front = asyncio.run(scenario())
    assert _open_connections(front) == 0
    assert _loop_threads() == []
