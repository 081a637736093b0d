"""Does password guessing stall the API? ``/health/live`` latency idle and under guessing.

Run: ``python benchmarks/login_pressure.py [--guessers 16] [--samples 400]`` (from apps/wms).

A whole WMS stack comes up (as ``interlock run`` would bring it). The health endpoint is
timed one request at a time, first idle, then while ``--guessers`` clients post wrong
passwords as fast as the API answers them, each from its own loopback address (so each
spends its own per-client allowance, as a distributed guesser would). The guessers run in
a separate process, so their work does not slow the measuring client. Target: p95 under
guessing within 2x the idle p95.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from multiprocessing.synchronize import Event
from pathlib import Path

import aiohttp
import httpx

from interlock.config import load_config
from interlock.stack import Stack

ROOT = Path(__file__).resolve().parents[1]


def timings(url: str, samples: int) -> list[float]:
    """``samples`` sequential GETs of /health/live, each in ms."""
    out = []
    with httpx.Client(base_url=url, timeout=30) as http:
        http.get("/health/live")  # the connection, once
        for _ in range(samples):
            began = time.perf_counter()
            answer = http.get("/health/live")
            out.append((time.perf_counter() - began) * 1000)
            answer.raise_for_status()
    return out


async def _guess(url: str, address: str, stop: Event, seen: Counter[int]) -> None:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(url, connector=connector) as http:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"email": f"victim-{n % 50}@example.com", "password": f"guess-{n}"}
            async with http.post("/api/v1/auth/token", json=body) as answer:
                seen[answer.status] += 1


def guessers(url: str, count: int, stop: Event, ready: Event, results: dict[str, int]) -> None:
    async def main() -> None:
        seen: Counter[int] = Counter()
        tasks = [
            asyncio.create_task(_guess(url, f"127.0.1.{i + 1}", stop, seen)) for i in range(count)
        ]
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)  # a poll of a flag set by another process
        await asyncio.gather(*tasks)
        results.update({str(status): n for status, n in seen.items()})

    asyncio.run(main())


def report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"{name:<28} p50 {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms")
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guessers", type=int, default=16)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="interlock-bench-") as work,
        Stack(load_config(ROOT), run_dir=Path(work)) as stack,
    ):
        assert stack.app_url is not None
        idle = report("/health/live idle", timings(stack.app_url, args.samples))
        context = multiprocessing.get_context("spawn")
        stop, ready = context.Event(), context.Event()
        with context.Manager() as manager:
            results = manager.dict()
            process = context.Process(
                target=guessers, args=(stack.app_url, args.guessers, stop, ready, results)
            )
            process.start()
            ready.wait(30)
            try:
                loaded = report(
                    f"/health/live, {args.guessers} guessers",
                    timings(stack.app_url, args.samples),
                )
            finally:
                stop.set()
                process.join(60)
            print(f"login answers during the run: {dict(results)}")
    verdict = "holds" if loaded <= 2 * idle else "BREACHED"
    print(f"p95 under guessing / idle p95 = {loaded / idle:.2f} (target <= 2): {verdict}")


if __name__ == "__main__":
    main()
