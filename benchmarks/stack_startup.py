"""How fast a stack comes up: PostgreSQL, Redis, the whole stack, and WMS alone beside it.

    python benchmarks/stack_startup.py [--runs 7]

Prints medians (and min/max) over several runs. The whole stack should cost little more
than WMS's own start-up, because the dependencies come up while WMS imports.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from interlock.config import load_config
from interlock.stack import Stack
from interlock.stack.postgres import EmbeddedPostgres, template_dir
from interlock.stack.redis import EmbeddedRedis
from interlock.stack.stack import scratch_root

# WMS, the system in this repository, is the stack measured
ROOT = Path(__file__).resolve().parents[1] / "apps" / "wms"


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def postgres_ready(workdir: Path, logs: Path) -> tuple[float, float]:
    pg = EmbeddedPostgres(workdir=workdir, log_path=logs / "postgres.log", database="wms")
    began = time.perf_counter()
    process = pg.prepare()
    process.start()
    process.wait_ready()
    ready = time.perf_counter() - began
    return ready, timed(process.stop)


def redis_ready(workdir: Path, logs: Path) -> tuple[float, float]:
    redis = EmbeddedRedis(workdir=workdir, log_path=logs / "redis.log")
    began = time.perf_counter()
    process = redis.prepare()
    process.start()
    process.wait_ready()
    ready = time.perf_counter() - began
    return ready, timed(process.stop)


def wms_alone(run_dir: Path) -> float:
    """WMS's own start-up (imports, migrations, first ready answer), dependencies already up."""
    config = load_config(ROOT)
    with Stack(config, run_dir=run_dir, with_app=False) as deps:
        assert config.app is not None
        app = deps._service(config.app, primary=True)  # the same process the stack would start
        began = time.perf_counter()
        app.start()
        try:
            app.wait_ready()
            return time.perf_counter() - began
        finally:
            app.stop()


def whole_stack(run_dir: Path) -> tuple[float, float]:
    config = load_config(ROOT)
    stack = Stack(config, run_dir=run_dir)
    up = timed(stack.__enter__)
    return up, timed(stack.close)


def report(name: str, values: list[float]) -> float:
    median = statistics.median(values)
    print(
        f"{name:<34} median {median * 1000:7.0f} ms   "
        f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    template_dir("wms")  # built once per machine; not part of any start-up
    results: dict[str, list[float]] = {
        k: [] for k in ("pg", "pg_stop", "redis", "redis_stop", "wms", "stack", "stack_stop")
    }
    with ExitStack() as cleanup:
        scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(dir=scratch_root())))
        scratch.chmod(0o711)  # PostgreSQL may run as another user
        logs = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        for i in range(args.runs):
            run = scratch / str(i)
            run.mkdir()
            run.chmod(0o711)
            ready, stop = postgres_ready(run, logs)
            results["pg"].append(ready)
            results["pg_stop"].append(stop)
            ready, stop = redis_ready(run, logs)
            results["redis"].append(ready)
            results["redis_stop"].append(stop)
            results["wms"].append(wms_alone(logs / f"wms{i}"))
            up, down = whole_stack(logs / f"stack{i}")
            results["stack"].append(up)
            results["stack_stop"].append(down)
    print(f"stack start-up on {scratch_root()}, {args.runs} runs each")
    report("PostgreSQL ready (target <= 250)", results["pg"])
    report("PostgreSQL stop", results["pg_stop"])
    report("Redis ready (target <= 200)", results["redis"])
    report("Redis stop (target <= 200)", results["redis_stop"])
    wms = report("WMS alone, dependencies up", results["wms"])
    stack = report("whole stack ready", results["stack"])
    report("whole stack stop", results["stack_stop"])
    print(f"{'whole stack / WMS alone':<34} {stack / wms:7.2f}x   (target <= 1.30x)")


if __name__ == "__main__":
    main()
