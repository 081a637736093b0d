"""Does password guessing stall the API? ``/health/live`` latency idle and under guessing.

Run: ``python benchmarks/login_pressure.py [--guessers 16] [--samples 400] [--rounds 4]
[--profile OUT]`` (from apps/wms).

A whole WMS stack comes up (as ``interlock run`` would bring it). The health endpoint is
timed one request at a time, in windows that alternate idle and guessing (``--rounds`` of
each, so that a shared host's own load weighs on both alike): while guessing,
``--guessers`` clients post wrong passwords as fast as the API answers them, each from its
own loopback address (so each spends its own per-client allowance, as a distributed
guesser would). ``--profile OUT`` records the API process with py-spy throughout. The
guessers run in a separate process, so their work does not slow the measuring client.
Target: p95 under guessing within 2x the idle p95.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from multiprocessing.context import BaseContext
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


class Phases:
    """Events shared with the guessers' process: ``go`` (guess while set), ``stop``,
    and what the guessers report: ``busy`` (every guesser has a login in flight) and
    ``quiet`` (none has)."""

    def __init__(self, context: BaseContext) -> None:
        self.go, self.stop = context.Event(), context.Event()
        self.busy, self.quiet = context.Event(), context.Event()


async def _guess(
    url: str, address: str, phases: Phases, seen: Counter[int], flight: set[str]
) -> None:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(url, connector=connector) as http:
        n = 0
        while not phases.stop.is_set():
            if not phases.go.is_set():
                await asyncio.sleep(0.02)  # a poll of a flag set by another process
                continue
            n += 1
            body = {"email": f"victim-{n % 50}@example.com", "password": f"guess-{n}"}
            flight.add(address)
            try:
                async with http.post("/api/v1/auth/token", json=body) as answer:
                    seen[answer.status] += 1
            finally:
                flight.discard(address)


def guessers(url: str, count: int, phases: Phases, results: dict[str, int]) -> None:
    async def main() -> None:
        seen: Counter[int] = Counter()
        flight: set[str] = set()
        tasks = [
            asyncio.create_task(_guess(url, f"127.0.1.{i + 1}", phases, seen, flight))
            for i in range(count)
        ]
        while not phases.stop.is_set():
            # tell the measuring process when the load is fully on, or fully off
            (phases.busy.set if len(flight) == count else phases.busy.clear)()
            (phases.quiet.set if not flight else phases.quiet.clear)()
            await asyncio.sleep(0.005)  # a poll of the tasks' state, reported across processes
        await asyncio.gather(*tasks)
        results.update({str(status): n for status, n in seen.items()})

    asyncio.run(main())


def _profiler(pid: int | None, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (idle frames too: a stall may be a wait) until terminated."""
    assert pid is not None
    command = ["py-spy", "record", "--idle", "--format", "raw", "--rate", "100"]
    return subprocess.Popen([*command, "--pid", str(pid), "--output", str(out)])


def report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"{name:<28} p50 {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms")
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guessers", type=int, default=16)
    parser.add_argument("--samples", type=int, default=400, help="of each kind, in all")
    parser.add_argument(
        "--rounds", type=int, default=4, help="idle and guessing windows, alternated"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="OUT",
        help="record the API process with py-spy while guessers run (collapsed stacks to OUT)",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="interlock-bench-") as work,
        Stack(load_config(ROOT), run_dir=Path(work)) as stack,
    ):
        assert stack.app_url is not None
        context = multiprocessing.get_context("spawn")
        phases = Phases(context)
        idle: list[float] = []
        loaded: list[float] = []
        with context.Manager() as manager:
            results = manager.dict()
            process = context.Process(
                target=guessers, args=(stack.app_url, args.guessers, phases, results)
            )
            process.start()
            spy = _profiler(stack.processes["app"].pid, args.profile) if args.profile else None
            try:
                # idle and guessing windows alternate, so that the host's own load (other
                # work on a shared machine) weighs on both alike
                share = max(1, args.samples // args.rounds)
                for _ in range(args.rounds):
                    phases.go.clear()
                    if not phases.quiet.wait(60):
                        raise SystemExit("the guessers' logins did not end within 60 s")
                    idle += timings(stack.app_url, share)
                    phases.go.set()
                    if not phases.busy.wait(60):
                        raise SystemExit("the guessers did not all start within 60 s")
                    loaded += timings(stack.app_url, share)
            finally:
                phases.stop.set()
                process.join(60)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
                    spy.wait(60)
            print(f"login answers during the run: {dict(results)}")
    idle_p95 = report("/health/live idle", idle)
    loaded_p95 = report(f"/health/live, {args.guessers} guessers", loaded)
    verdict = "holds" if loaded_p95 <= 2 * idle_p95 else "BREACHED"
    ratio = loaded_p95 / idle_p95
    print(f"p95 under guessing / idle p95 = {ratio:.2f} (target <= 2): {verdict}")


if __name__ == "__main__":
    main()
