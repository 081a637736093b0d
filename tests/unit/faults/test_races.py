"""Toxics changed while connections are being accepted: each applies exactly once, and goes."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

from interlock.faults import Proxy
from interlock.stack import wait_until

if TYPE_CHECKING:
    from .conftest import Clients

_ROUNDS = 8
_BURST = 60


def _burst(
    proxy: Proxy, clients: Clients, into: list[socket.socket], underway: threading.Event
) -> None:
    for number in range(_BURST):
        into.append(clients.connect(proxy.address))
        if number == _BURST // 3:
            underway.set()


def test_toxic_added_during_accepts_is_one_stage_per_connection_and_removal_frees_all(
    proxy: Proxy, clients: Clients
) -> None:
    for round_ in range(_ROUNDS):
        socks: list[socket.socket] = []
        underway = threading.Event()
        opener = threading.Thread(target=_burst, args=(proxy, clients, socks, underway))
        opener.start()
        # added while the burst is being accepted: some connections exist but are not open yet
        assert underway.wait(5)
        hold = proxy.add_toxic("timeout", timeout=0, name=f"hold{round_}")
        opener.join(10)
        assert wait_until(lambda: proxy.stats().connections == _BURST, timeout=5)
        stats = proxy.stats()
        assert stats.stages == _BURST, f"round {round_}: {stats}"
        proxy.remove_toxic(hold.name)
        assert proxy.stats().stages == 0
        # held forever by a copy left behind, a connection would time out here
        for sock in socks:
            sock.settimeout(5)
            sock.sendall(b"ping")
        for sock in socks:
            assert clients.read_exactly(sock, 4) == b"ping"
            sock.close()
        assert wait_until(lambda: proxy.stats().connections == 0, timeout=5)
