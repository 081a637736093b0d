"""Free TCP ports on loopback, chosen where outgoing connections never land.

A port found free must stay free until its server binds it. Ports the kernel hands to
bind(0) come from the ephemeral range, which every outgoing connection also draws from;
under a busy test run one of those can take the port in between. So ports are drawn at
random below that range, where only listeners live, and checked by binding them.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port", "port_open"]

_LOWEST = 10_000
_random = random.SystemRandom()


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
            if _bindable(host, port):
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
