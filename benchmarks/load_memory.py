"""Peak memory of a long load run: the engine's figures must not grow with the request count.

Run: ``python benchmarks/load_memory.py [--requests 5000000] [--vus 50]``.
Needs nginx (``apt-get install nginx``), the target, pinned to the first core; the
engine runs in this process on the second. Prints the requests so far and the resident
set size every 10 s, then the size before the run, its peak (sampled every 0.2 s), the
request count and rate; exits 1 if the peak reached 100 MiB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from load_engine import CLIENT_CORE, nginx

from interlock.load import LoadRun, PerVUIterations, Scenario, Session
from interlock.load.metrics import Second


async def ping(session: Session) -> None:
    await session.get("/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000_000, help="total requests (5M)")
    parser.add_argument("--vus", type=int, default=50, help="VUs, one connection each (50)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(CLIENT_CORE)})
    me = psutil.Process()
    peak = [0]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.2)  # a sampling period, not synchronisation

    per_vu = -(-args.requests // args.vus)
    executor = PerVUIterations(vus=args.vus, iterations=per_vu, max_duration=24 * 3600)
    with tempfile.TemporaryDirectory(prefix="load-memory-bench-") as tmp, nginx(Path(tmp)) as url:
        done = [0]

        def progress(second: Second, _point: dict[str, object]) -> None:
            done[0] += sum(agg.count for agg in second.steps.values())
            if second.t % 10 == 9:
                rss = me.memory_info().rss / 1024 / 1024
                print(
                    f"  {second.t + 1:>5} s  {done[0]:>11,} requests  rss {rss:.1f} MiB", flush=True
                )

        run = LoadRun(
            Scenario(name="ping", workflow=ping), executor, target=url, on_second=progress
        )
        before = me.memory_info().rss
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        result = run.run()
        elapsed = time.perf_counter() - started
        running.clear()
        sampler.join()
    requests = sum(agg.count for agg in result.steps.values())
    mib = 1024 * 1024
    print(f"requests            {requests:>12,}")
    print(f"failed              {sum(a.failures for a in result.steps.values()):>12,}")
    print(f"rate                {requests / elapsed:>12,.0f} req/s over {elapsed:.0f} s")
    print(f"series points       {len(result.series):>12,}")
    print(f"rss before the run  {before / mib:>12.1f} MiB")
    print(f"rss peak            {peak[0] / mib:>12.1f} MiB")
    print(f"growth              {(peak[0] - before) / mib:>12.1f} MiB")
    return 0 if peak[0] < 100 * mib else 1


if __name__ == "__main__":
    sys.exit(main())
