"""Connections end cleanly: clients leaving mid-stream leave no socket and no task behind."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from interlock.faults import Proxy, ProxyStats
from interlock.stack import wait_until

if TYPE_CHECKING:
    from .conftest import Clients


def _sockets_of_this_process(proxy: Proxy, upstream: tuple[str, int]) -> list[Any]:
    """Established sockets of this process on the proxy's port or to the echo server."""
    return [
        conn
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.status != psutil.CONN_LISTEN
        and conn.raddr
        and (proxy.port in (conn.laddr.port, conn.raddr.port) or conn.raddr.port == upstream[1])
    ]


@pytest.mark.parametrize("hang_up", ["close", "reset"])
@pytest.mark.parametrize(
    ("toxic", "options"),
    [
        ("slicer", {"average_size": 512, "size_variation": 128, "delay": 2000}),
        ("latency", {"latency": 300}),
    ],
)
def test_clients_leaving_mid_stream_leave_nothing_behind(
    echo: tuple[str, int],
    proxy: Proxy,
    clients: Clients,
    toxic: str,
    options: dict[str, Any],
    hang_up: str,
) -> None:
    payload = os.urandom(64_000)
    with proxy.toxic(toxic, **options):
        socks = [clients.connect(proxy.address) for _ in range(6)]
        for sock in socks:
            sock.sendall(payload)
        # every connection is accepted and open, with a task pumping its bytes through the
        # toxic (accepts lag the clients' connects on a busy machine, and an accept in
        # flight is a task too)
        assert wait_until(
            lambda: proxy.stats().connections == 6 and proxy.stats().tasks >= 6, timeout=10
        ), proxy.stats()
        if toxic == "slicer":
            for sock in socks:
                assert len(sock.recv(100)) > 0  # delivery has begun
        for sock in socks:
            if hang_up == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        assert wait_until(
            lambda: proxy.stats() == ProxyStats(connections=0, tasks=0, accepted=6, stages=0),
            timeout=5,
        ), proxy.stats()
    # the echo server's handler threads close their ends when they see the proxy's EOF
    assert wait_until(lambda: _sockets_of_this_process(proxy, echo) == [], timeout=3), (
        _sockets_of_this_process(proxy, echo)
    )


def test_open_connections_are_counted(proxy: Proxy, clients: Clients) -> None:
    socks = [clients.connect(proxy.address) for _ in range(3)]
    for sock in socks:
        clients.round_trip(sock)
    assert proxy.stats() == ProxyStats(connections=3, tasks=0, accepted=3, stages=0)
    for sock in socks:
        sock.close()
    assert wait_until(lambda: proxy.stats().connections == 0, timeout=3)


def test_stopping_the_proxy_closes_every_socket(echo: tuple[str, int], clients: Clients) -> None:
    with Proxy(echo) as proxy:
        proxy.add_toxic("timeout")  # holds every byte: the stop finds work in flight
        socks = [clients.connect(proxy.address) for _ in range(4)]
        for sock in socks:
            sock.sendall(b"held")
        assert wait_until(lambda: proxy.stats().tasks == 4, timeout=3)
    assert proxy.stats() == ProxyStats(connections=0, tasks=0, accepted=4, stages=0)
    for sock in socks:
        # closed: an end of stream, or a reset when the proxy had not yet read the bytes
        # held in its socket (the kernel resets a socket closed with unread data)
        with contextlib.suppress(ConnectionResetError):
            assert clients.read_to_eof(sock) == b""
