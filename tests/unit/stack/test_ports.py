"""Free ports are chosen where outgoing connections cannot take them first."""

from __future__ import annotations

import socket
from pathlib import Path

from interlock.stack.ports import free_port


def test_free_ports_lie_below_the_ephemeral_range_and_can_be_bound():
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(port < floor for port in ports)
    assert len(ports) > 1  # drawn at random, not always the same
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
