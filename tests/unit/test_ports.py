"""Free ports are chosen where outgoing connections cannot take them first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from interlock import ports as leases
from interlock.ports import free_port


def test_free_ports_lie_below_the_ephemeral_range_and_can_be_bound():
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(port < floor for port in ports)
    assert len(ports) > 1  # drawn at random, not always the same
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def _lease_in_another_process(port: int) -> str:
    code = f"from interlock import ports; print(ports._lease({port}))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def test_a_port_chosen_by_one_run_is_not_chosen_by_another_until_its_lease_ends():
    port = free_port()
    assert _lease_in_another_process(port) == "False"  # another run on this host skips it
    holder, _ = leases._leases.pop(port)
    os.close(holder)  # the lease ends (after LEASE_S, or with the process)
    assert _lease_in_another_process(port) == "True"
