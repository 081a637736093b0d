"""How fast WMS refuses a call to a service whose circuit breaker is open (target < 10 ms).

Run: ``python benchmarks/breaker_fail_fast.py [--calls 2000]``.

The breaker's state lives in a real Redis (shared by the API and the worker, as in a
stack), so a refusal costs two Redis round trips on the event loop and no thread. For
comparison the same service's overhead on a call that succeeds (a no-op in the worker
thread, through bulkhead, breaker and timeout) is measured too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from interlock.stack.redis import EmbeddedRedis
from wms.errors import UpstreamUnavailable
from wms.integrations.resilience import ExternalService, Transient, policy_for


async def timings(service: ExternalService, fn: Callable[[], None], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        with contextlib.suppress(UpstreamUnavailable):
            await service.call(fn, idempotent=False)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    print(
        f"{name:<34} p50 {statistics.median(ordered):7.3f} ms   p95 {p(0.95):7.3f} ms   "
        f"p99 {p(0.99):7.3f} ms   max {ordered[-1]:7.3f} ms   (n={len(ordered)})"
    )


async def run(redis_url: str, calls: int) -> None:
    policy = policy_for("stripe", timeout=2.0, fail_max=3, reset_timeout=600)
    service = ExternalService("bench-stripe", policy, redis_url=redis_url)

    def succeed() -> None:
        return None

    def fail() -> None:
        raise Transient("simulated outage")

    report("closed breaker, call succeeds", await timings(service, succeed, calls))
    while service.breaker_state != "open":
        await timings(service, fail, 1)
    report("open breaker, call refused", await timings(service, fail, calls))
    print(f"breaker refusals counted: {service.stats.rejected_open}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="interlock-bench-") as work:
        redis = EmbeddedRedis(workdir=Path(work), log_path=Path(work) / "redis.log")
        process = redis.prepare()
        process.start()
        try:
            process.wait_ready()
            asyncio.run(run(redis.url, args.calls))
        finally:
            process.stop()


if __name__ == "__main__":
    main()
