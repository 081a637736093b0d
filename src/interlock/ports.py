"""Free TCP ports on loopback, chosen where outgoing connections never land.

A port found free must stay free until its server binds it. Ports the kernel hands to
bind(0) come from the ephemeral range, which every outgoing connection also draws from;
under a busy test run one of those can take the port in between. So ports are drawn at
random below that range, where only listeners live, and checked by binding them.

Two runs on one host (two checkouts, two CI executors) draw from the same range, so a
chosen port is also leased for LEASE_S seconds — long enough for any server to bind it —
through a socket in Linux's abstract namespace, which is per network namespace exactly
as ports are, needs no file and disappears with the process that holds it.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
import time
from pathlib import Path

__all__ = ["free_port", "port_open"]

_LOWEST = 10_000
_random = random.SystemRandom()
#: seconds a chosen port stays leased to the process that chose it
LEASE_S = 120.0
#: port -> (file descriptor of the socket holding its lease, monotonic time it ends)
_leases: dict[int, tuple[int, float]] = {}
_leases_lock = threading.Lock()


def _lease(port: int) -> bool:
    """Lease ``port`` to this process; False when another process (or this one) holds it."""
    if not sys.platform.startswith("linux"):
        return True  # no abstract namespace: the bind check alone
    now = time.monotonic()
    with _leases_lock:
        for old in [p for p, (_, until) in _leases.items() if until < now]:
            os.close(_leases.pop(old)[0])
        if port in _leases:
            return False
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            holder.bind(f"\0interlock-port-{port}")
        except OSError:
            holder.close()
            return False
        # a bare descriptor: closed when the lease ends or the process exits, never
        # reported as a leaked socket object at interpreter shutdown
        _leases[port] = (holder.detach(), now + LEASE_S)
        return True


def _ephemeral_floor() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768
    return low


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, outside the ephemeral range when there is room."""
    floor = _ephemeral_floor()
    if floor - _LOWEST > 1000:
        for _ in range(50):
            port = _random.randrange(_LOWEST, floor)
            if _bindable(host, port) and _lease(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
