"""Fault calls act when called, as statements or in blocks; proxies and servers have states."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from interlock.faults import FaultServer, Proxy, ProxyUnavailable
from interlock.helpers.deadline import poll
from interlock.lifecycle import StateError

if TYPE_CHECKING:
    from .conftest import Clients


def test_fault_calls_written_as_statements_act_until_reset(proxy: Proxy, clients: Clients) -> None:
    sock = clients.connect(proxy.address)
    proxy.latency(ms=50)
    proxy.timeout(name="hold")
    assert [toxic.name for toxic in proxy.toxics()] == ["latency_downstream", "hold"]
    proxy.down()
    assert not proxy.enabled
    with pytest.raises(ConnectionRefusedError):
        clients.connect(proxy.address)
    assert clients.read_to_eof(sock) == b""  # the open connection was closed
    proxy.reset()
    assert proxy.toxics() == []
    assert clients.round_trip(clients.connect(proxy.address)) < 1


def test_a_with_block_undoes_only_its_own_fault(proxy: Proxy) -> None:
    proxy.slicer(average_size=10)
    with proxy.latency(ms=50) as toxic:
        assert toxic.name == "latency_downstream"
        assert [t.type for t in proxy.toxics()] == ["slicer", "latency"]
    assert [t.type for t in proxy.toxics()] == ["slicer"]


def test_undo_removes_its_toxic_not_a_later_one_of_the_same_name(proxy: Proxy) -> None:
    first = proxy.latency(ms=50)
    proxy.remove_toxic("latency_downstream")
    second = proxy.latency(ms=80)
    first.undo()
    assert proxy.toxics() == [second.value]
    second.undo()
    second.undo()  # a second undo does nothing
    assert proxy.toxics() == []


def test_a_fault_handle_scopes_one_block(proxy: Proxy) -> None:
    down = proxy.down()
    with down, pytest.raises(StateError, match="proxy 'proxy' down was already entered"), down:
        pass
    assert proxy.enabled
    with pytest.raises(StateError, match="already undone"), down:
        pass
    assert proxy.enabled


def test_a_proxy_is_entered_once_and_refuses_changes_after_stop(echo: tuple[str, int]) -> None:
    proxy = Proxy(echo, name="db")
    with proxy:
        with pytest.raises(StateError, match="fault proxy 'db' is already open"), proxy:
            pass
        proxy.latency(ms=10)
    with pytest.raises(StateError, match="fault proxy 'db' is closed"):
        proxy.latency(ms=10)
    with pytest.raises(StateError, match="fault proxy 'db' is closed"):
        proxy.down()
    with pytest.raises(StateError, match="was closed and cannot be opened again"), proxy:
        pass
    assert proxy.stats().connections == 0  # still readable


def test_an_async_proxy_cannot_be_started_twice(echo: tuple[str, int]) -> None:
    async def scenario() -> None:
        async with Proxy(echo) as proxy:
            with pytest.raises(StateError, match="already open"):
                await proxy.start()
        with pytest.raises(StateError, match="cannot be opened again"):
            await proxy.start()

    asyncio.run(scenario())


def test_a_fault_server_is_entered_once_and_refuses_use_after_close(
    echo: tuple[str, int],
) -> None:
    server = FaultServer({"echo": echo})
    with server, pytest.raises(StateError, match="fault server is already open"), server:
        pass
    with pytest.raises(StateError, match="fault server is closed"):
        server.reset()
    with pytest.raises(StateError, match="fault proxy 'echo' is closed"):
        server["echo"].down()


def _ephemeral_floor() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_a_proxy_picks_its_port_below_the_ephemeral_range(echo: tuple[str, int]) -> None:
    floor = _ephemeral_floor()
    for _ in range(5):
        with Proxy(echo) as proxy:
            assert 0 < proxy.port < floor


def test_enable_says_so_when_the_port_is_gone_and_reset_recovers(
    proxy: Proxy, clients: Clients
) -> None:
    port = proxy.port
    proxy.down()
    squatter = socket.create_server(("127.0.0.1", port))
    try:
        with pytest.raises(ProxyUnavailable, match=f"cannot listen on 127.0.0.1:{port}"):
            proxy.enable()
        assert not proxy.enabled
        with pytest.raises(ProxyUnavailable):
            proxy.reset()
        assert not proxy.enabled
    finally:
        squatter.close()
    proxy.reset()
    assert proxy.enabled
    assert proxy.port == port
    assert clients.round_trip(clients.connect(proxy.address)) < 1


def test_a_timed_down_whose_port_is_gone_stays_down_and_says_so(
    proxy: Proxy, clients: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    port = proxy.port
    with caplog.at_level(logging.WARNING, logger="interlock.faults.proxy"):
        proxy.disable(duration=0.5)  # time enough to take the port first
        squatter = socket.create_server(("127.0.0.1", port))
        try:
            poll(
                lambda: "cannot listen" in caplog.text,
                timeout=5,
                what="the proxy's attempt to come back up",
            )
            assert not proxy.enabled
        finally:
            squatter.close()
    proxy.reset()
    assert proxy.enabled
    assert clients.round_trip(clients.connect(proxy.address)) < 1
