"""What the fault proxy costs with no toxic (round trips, bulk throughput, direct vs proxied),
and what a latency toxic does to a bulk transfer: delay it by its latency, not throttle it.

Run: ``python benchmarks/fault_proxy.py [--pings 5000] [--megabytes 64] [--transfer 20]
[--latency 100]``.

The echo server runs in its own process, as a real dependency would. The proxy runs
twice: in this process on a background thread (how tests and the stack use it, sharing
the GIL with the client) and in a process of its own (the proxy alone).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from socket import create_connection

from interlock.faults import Proxy

ECHO_SERVER = """
import asyncio, sys

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(data)

async def main():
    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

PROXY_SERVER = """
import sys
from interlock.faults import Proxy

with Proxy(("127.0.0.1", int(sys.argv[1]))) as proxy:
    print(proxy.port, flush=True)
    sys.stdin.read()
"""


@contextmanager
def child(source: str, *args: str) -> Iterator[int]:
    """A Python child process that prints the port it listens on; killed on the way out."""
    proc = subprocess.Popen(
        [sys.executable, "-c", source, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


def round_trips(port: int, count: int, size: int = 64) -> list[float]:
    """Seconds per request/response of ``size`` bytes, one at a time on one connection."""
    payload = b"x" * size
    samples = []
    with create_connection(("127.0.0.1", port)) as sock:
        for i in range(count + count // 10):
            start = time.perf_counter()
            sock.sendall(payload)
            got = 0
            while got < size:
                got += len(sock.recv(65536))
            if i >= count // 10:  # the first tenth warms up
                samples.append(time.perf_counter() - start)
    return samples


def throughput(port: int, megabytes: int) -> float:
    """MB/s of echoed bytes: one thread sends ``megabytes`` while this one reads them back."""
    return megabytes / transfer(port, megabytes)


def transfer(port: int, megabytes: int) -> float:
    """Seconds from the first byte sent to the last byte of its echo read back."""
    total, chunk = megabytes * 1_000_000, b"x" * 262_144
    buffer = bytearray(262_144)
    with create_connection(("127.0.0.1", port)) as sock:

        def send() -> None:
            sent = 0
            while sent < total:
                sock.sendall(chunk[: total - sent])
                sent += min(len(chunk), total - sent)

        sender = threading.Thread(target=send)
        start = time.perf_counter()
        sender.start()
        got = 0
        while got < total:
            got += sock.recv_into(buffer)
        elapsed = time.perf_counter() - start
        sender.join()
    return elapsed


def best_transfer(port: int, megabytes: int, runs: int = 3) -> float:
    """The fastest of ``runs`` transfers: the machine is shared, the best is the proxy's own."""
    return min(transfer(port, megabytes) for _ in range(runs))


def measure(port: int, pings: int, megabytes: int) -> tuple[float, float, float]:
    samples = sorted(round_trips(port, pings))
    p99 = samples[int(len(samples) * 0.99) - 1]
    return statistics.median(samples), p99, throughput(port, megabytes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=5000, help="round trips to time")
    parser.add_argument("--megabytes", type=int, default=64, help="bytes to echo in bulk")
    parser.add_argument("--transfer", type=int, default=20, help="MB of the latency transfer")
    parser.add_argument("--latency", type=float, default=100, help="ms of the latency toxic")
    args = parser.parse_args()
    transfers: dict[str, float] = {}
    with child(ECHO_SERVER) as echo:
        results = {"direct": measure(echo, args.pings, args.megabytes)}
        transfers["direct"] = best_transfer(echo, args.transfer)
        with Proxy(("127.0.0.1", echo)) as proxy:
            results["proxy, in-process thread"] = measure(proxy.port, args.pings, args.megabytes)
            transfers["proxy, no toxic"] = best_transfer(proxy.port, args.transfer)
            with proxy.latency(ms=args.latency):
                transfers[f"proxy, latency {args.latency:g} ms"] = best_transfer(
                    proxy.port, args.transfer
                )
        with child(PROXY_SERVER, str(echo)) as port:
            results["proxy, own process"] = measure(port, args.pings, args.megabytes)
    base_p50, base_p99, base_mbs = results["direct"]
    print(f"{args.pings} round trips of 64 bytes; {args.megabytes} MB echoed in bulk\n")
    print(
        f"{'':26} {'p50 µs':>8} {'p99 µs':>8} {'MB/s':>8} {'+p50 µs':>8} {'+p99 µs':>8}"
        f" {'MB/s ratio':>10}"
    )
    for name, (p50, p99, mbs) in results.items():
        print(
            f"{name:26} {p50 * 1e6:8.1f} {p99 * 1e6:8.1f} {mbs:8.1f} "
            f"{(p50 - base_p50) * 1e6:8.1f} {(p99 - base_p99) * 1e6:8.1f} {mbs / base_mbs:10.2f}"
        )
    base = transfers["proxy, no toxic"]
    print(f"\n{args.transfer} MB echoed, best of 3; a latency toxic should add its latency, once\n")
    print(f"{'':26} {'ms':>8} {'+ms vs no toxic':>16}")
    for name, seconds in transfers.items():
        print(f"{name:26} {seconds * 1e3:8.1f} {(seconds - base) * 1e3:16.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
