"""Each toxic, seen from a client talking to a real echo server through the proxy."""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import time
from typing import TYPE_CHECKING

import pytest

from interlock.faults import Proxy

if TYPE_CHECKING:
    from .conftest import Clients


def test_latency_adds_its_delay_to_the_round_trip(proxy: Proxy, clients: Clients) -> None:
    sock = clients.connect(proxy.address)
    baseline = statistics.median(clients.round_trip(sock) for _ in range(20))
    with proxy.latency(ms=100):
        delayed = statistics.median(clients.round_trip(sock) for _ in range(20))
    assert delayed - baseline == pytest.approx(0.100, abs=0.005)


def test_upstream_latency_delays_what_the_client_sends(proxy: Proxy, clients: Clients) -> None:
    with proxy.latency(ms=100, direction="upstream"):
        sock = clients.connect(proxy.address)
        assert 0.095 <= clients.round_trip(sock) < 0.2


def test_latency_with_toxicity_zero_has_no_effect(proxy: Proxy, clients: Clients) -> None:
    existing = clients.connect(proxy.address)
    with proxy.latency(ms=300, toxicity=0):
        times = [clients.round_trip(existing)]
        times += [clients.round_trip(clients.connect(proxy.address)) for _ in range(5)]
    assert max(times) < 0.1


def test_reset_peer_resets_the_client(proxy: Proxy, clients: Clients) -> None:
    with proxy.reset_peer():
        sock = clients.connect(proxy.address)
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)


def test_reset_peer_holds_the_data_until_its_timeout(proxy: Proxy, clients: Clients) -> None:
    with proxy.reset_peer(ms=200):
        sock = clients.connect(proxy.address)
        start = time.perf_counter()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
        assert 0.19 <= time.perf_counter() - start < 1.0


def test_timeout_holds_data_then_closes(proxy: Proxy, clients: Clients) -> None:
    with proxy.timeout(ms=300):
        sock = clients.connect(proxy.address)
        start = time.perf_counter()
        sock.sendall(b"hello")
        assert clients.read_to_eof(sock) == b""
        assert 0.29 <= time.perf_counter() - start < 1.0


def test_timeout_removed_in_time_lets_the_held_data_through(proxy: Proxy, clients: Clients) -> None:
    sock = clients.connect(proxy.address)
    with proxy.timeout():
        sock.sendall(b"held")
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(100)
    sock.settimeout(5)
    assert clients.read_exactly(sock, 4) == b"held"


def test_bandwidth_limits_throughput_to_the_rate(proxy: Proxy, clients: Clients) -> None:
    payload = os.urandom(100_000)
    with proxy.bandwidth(rate=200):
        sock = clients.connect(proxy.address)
        start = time.perf_counter()
        sock.sendall(payload)
        assert clients.read_exactly(sock, len(payload)) == payload
        kilobytes_per_second = len(payload) / 1000 / (time.perf_counter() - start)
    assert kilobytes_per_second == pytest.approx(200, rel=0.10)


def test_slicer_delivers_every_byte_in_many_small_reads(proxy: Proxy, clients: Clients) -> None:
    payload = os.urandom(4096)
    with proxy.slicer(average_size=64, size_variation=32, delay_us=1000):
        sock = clients.connect(proxy.address)
        sock.sendall(payload)
        reads = []
        while sum(map(len, reads)) < len(payload):
            reads.append(sock.recv(65536))
    assert hashlib.sha256(b"".join(reads)).digest() == hashlib.sha256(payload).digest()
    assert len(reads) >= 10
    assert max(map(len, reads)) < 1024


def test_limit_data_closes_after_that_many_bytes(proxy: Proxy, clients: Clients) -> None:
    payload = os.urandom(5000)
    with proxy.limit_data(bytes=1000):
        sock = clients.connect(proxy.address)
        sock.sendall(payload)
        assert clients.read_to_eof(sock) == payload[:1000]


def test_slow_close_delays_the_close(proxy: Proxy, clients: Clients) -> None:
    with proxy.slow_close(ms=300):
        sock = clients.connect(proxy.address)
        sock.sendall(b"bye")
        start = time.perf_counter()
        sock.shutdown(socket.SHUT_WR)
        assert clients.read_to_eof(sock) == b"bye"
        assert 0.29 <= time.perf_counter() - start < 1.0


def test_half_close_passes_through_without_toxics(proxy: Proxy, clients: Clients) -> None:
    sock = clients.connect(proxy.address)
    sock.sendall(b"last words")
    sock.shutdown(socket.SHUT_WR)
    assert clients.read_to_eof(sock) == b"last words"
