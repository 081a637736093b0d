"""Toxics changed while connections are being accepted: each applies exactly once, and goes."""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from interlock.faults import Proxy
from interlock.stack import wait_until

if TYPE_CHECKING:
    from .conftest import Clients

_ROUNDS = 8
_BURST = 60


def _during_a_burst(
    proxy: Proxy, clients: Clients, into: list[socket.socket], change: Callable[[], object]
) -> None:
    """Open ``_BURST`` connections and make ``change`` while a third of them are open."""
    underway = threading.Event()

    def burst() -> None:
        for number in range(_BURST):
            into.append(clients.connect(proxy.address))
            if number == _BURST // 3:
                underway.set()

    opener = threading.Thread(target=burst)
    opener.start()
    try:
        # the proxy lags behind the opener: some connections are accepted, not yet open
        assert underway.wait(5)
        change()
    finally:
        opener.join(10)
    assert wait_until(lambda: proxy.stats().connections == len(into), timeout=5)


def test_toxics_changed_during_accepts_are_one_stage_per_connection_and_leave_none(
    proxy: Proxy, clients: Clients
) -> None:
    for round_ in range(_ROUNDS):
        socks: list[socket.socket] = []
        name = f"hold{round_}"
        _during_a_burst(proxy, clients, socks, functools.partial(proxy.timeout, name=name))
        stats = proxy.stats()
        assert stats.stages == len(socks), f"round {round_}: {stats}"
        _during_a_burst(proxy, clients, socks, functools.partial(proxy.remove_toxic, name))
        assert proxy.stats().stages == 0
        # held forever by a copy left behind, a connection would time out here
        for sock in socks:
            sock.settimeout(5)
            sock.sendall(b"ping")
        for sock in socks:
            assert clients.read_exactly(sock, 4) == b"ping"
            sock.close()
        assert wait_until(lambda: proxy.stats().connections == 0, timeout=5)
