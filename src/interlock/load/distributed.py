"""Load runs beyond one machine: the same scenario as shards on a Dask distributed cluster.

Each shard runs on its own Dask worker with its part of the executor (an arrival rate's
iterations are dealt out i % N, VUs split as evenly as they go), and all shards start at
one agreed wall-clock instant. Every second each shard puts its closed second (encoded
histograms) on a Dask ``Queue``; the caller merges the seconds of all shards, shows the
progress, judges the thresholds on the merged figures and, on an ``abort_on_fail`` breach,
sets a Dask ``Event`` the shards read each second. Histograms add exactly, so the
merged percentiles are those of one histogram fed every sample.

On a real cluster::

    dask scheduler                                   # on one host, port 8786
    dask worker tcp://SCHEDULER:8786 --nthreads 1    # on each load host, once per core
    interlock load scenario.py --scheduler tcp://SCHEDULER:8786 --executor \\
        constant-arrival-rate --rate 5000 --duration 5m --target http://app.internal

Every worker needs Interlock installed (the scenario file's text travels with the task,
so no shared disk is needed) and network access to the target; clocks are assumed NTP-
synchronised (the start instant is wall-clock). ``--workers N`` starts a local cluster of
N single-threaded worker processes instead. Raises DependencyError when the scheduler
cannot be reached.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from interlock.errors import DependencyError
from interlock.load.executors import Executor
from interlock.load.metrics import Second
from interlock.load.result import LoadResult, merge_shards
from interlock.load.thresholds import Judge, LoadThreshold

__all__ = ["run_distributed"]

#: seconds between submitting the shards and their common start (their set-up time)
START_LEAD = 2.0


def _dask() -> Any:
    """The ``distributed`` package, imported on first use (it is slow to import) and typed
    loosely (it ships no type hints)."""
    return importlib.import_module("distributed")


def _shard(
    source: str,
    where: str,
    executor: Executor,
    target: str | None,
    start_at: float,
    channel: str,
    index: int,
    keep_samples: bool,
) -> dict[str, Any]:
    """Run one shard on a Dask worker; returns its encoded result."""
    from interlock.load.engine import LoadRun
    from interlock.load.scenario import scenario_from_source

    dask = _dask()
    queue, stop = dask.Queue(channel), dask.Event(channel + "-abort")
    scenario = scenario_from_source(source, where)

    def publish(second: Second, point: dict[str, Any]) -> None:
        queue.put({"shard": index, "second": second.encode(), "vus": point["vus"]})
        if stop.is_set():
            run.abort("a threshold failed on the merged figures of all shards")

    run = LoadRun(
        scenario,
        executor,
        target=target,
        on_second=publish,
        start_at=start_at,
        keep_samples=keep_samples,
    )
    try:
        return run.run().to_dict(encoded=True)
    finally:
        queue.put({"shard": index, "done": True})


def _client(scheduler: str | None, workers: int | None, stack: contextlib.ExitStack) -> Any:
    dask = _dask()
    if scheduler:
        try:
            return stack.enter_context(dask.Client(scheduler, timeout=10))
        except (OSError, TimeoutError) as exc:
            raise DependencyError(f"Dask scheduler {scheduler} cannot be reached: {exc}") from None
    # Dask's default scratch folder (<tmp>/dask-scratch-space) outlives the run; the
    # scheduler makes it from `temporary-directory`, the workers from local_directory
    scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="dask-interlock-"))
    stack.enter_context(
        importlib.import_module("dask").config.set({"temporary-directory": scratch})
    )
    cluster = stack.enter_context(
        dask.LocalCluster(
            local_directory=scratch,
            n_workers=workers or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    )
    return stack.enter_context(dask.Client(cluster))


def run_distributed(
    scenario_path: Path,
    executor: Executor,
    *,
    target: str | None,
    thresholds: Sequence[LoadThreshold] = (),
    scheduler: str | None = None,
    workers: int | None = None,
    on_point: Callable[[dict[str, Any], int], None] | None = None,
    keep_samples: bool = False,
) -> LoadResult:
    """Run ``scenario_path`` as one shard per Dask worker and merge the shards exactly.

    ``scheduler``: an existing cluster's address; else ``workers`` local worker processes.
    ``on_point(point, shards)`` gets each merged second. Raises UsageError for a missing
    file, DependencyError when the cluster cannot be reached, and whatever a shard raised.
    """
    from interlock.load.scenario import load_scenario

    scenario = load_scenario(scenario_path)  # fail here, not on every worker
    executor.validate()
    source = scenario_path.read_text(encoding="utf-8")
    with contextlib.ExitStack() as stack:
        client = _client(scheduler, workers, stack)
        if workers:
            client.wait_for_workers(workers, timeout=60)
        addresses = sorted(client.scheduler_info()["workers"])
        if not addresses:
            raise DependencyError(f"the Dask cluster at {scheduler} has no workers")
        count = len(addresses)
        channel = f"interlock-load-{uuid.uuid4().hex}"
        dask = _dask()
        queue = dask.Queue(channel, client=client)
        stop = dask.Event(channel + "-abort", client=client)
        start_at = time.time() + START_LEAD
        futures = [
            client.submit(
                _shard,
                source,
                str(scenario_path),
                executor.shard(i, count),
                target,
                start_at,
                channel,
                i,
                keep_samples,
                workers=[address],
                allow_other_workers=False,
                pure=False,
            )
            for i, address in enumerate(addresses)
        ]
        judge = Judge(thresholds, scenario.name)
        series, aborted = _follow(queue, stop, judge, count, on_point, futures)
        parts = [LoadResult.from_dict(f.result()) for f in futures]
    result = merge_shards(parts, plan=f"{executor.describe()} over {count} shards")
    result.series = series
    totals = {**result.steps, result.scenario: result.workflow}
    judge.finish(totals, result.elapsed)
    result.thresholds = [s.to_dict() for s in judge.states]
    result.aborted = aborted or result.aborted
    return result


def _take(
    item: dict[str, Any],
    pending: dict[int, tuple[Second, set[int]]],
    done: set[int],
    vus: dict[int, int],
) -> None:
    if item.get("done"):
        done.add(item["shard"])
        return
    second = Second.decode(item["second"])
    merged, seen = pending.setdefault(second.t, (Second(second.t), set()))
    merged += second
    seen.add(item["shard"])
    vus[second.t] = vus.get(second.t, 0) + int(item["vus"])


def _follow(
    queue: Any,
    stop: Any,
    judge: Judge,
    count: int,
    on_point: Callable[[dict[str, Any], int], None] | None,
    futures: list[Any],
) -> tuple[list[dict[str, Any]], str | None]:
    """Merge the shards' seconds as they arrive until every shard is done; the series and
    why the run was aborted (None if it was not)."""
    pending: dict[int, tuple[Second, set[int]]] = {}
    aborted: str | None = None
    done: set[int] = set()
    series: list[dict[str, Any]] = []
    vus: dict[int, int] = {}
    while len(done) < count:
        # a batch get returns what is there without waiting: a timed get that expires
        # makes the scheduler log a traceback a second
        items = queue.get(batch=True)
        if not items:
            failed = [f for f in futures if f.status == "error"]
            if failed:
                failed[0].result()  # raises the shard's error here
            time.sleep(0.05)  # a polling period, not synchronisation
            continue
        for item in items:
            _take(item, pending, done, vus)
        # a second is complete when every shard still running has sent it
        for t in sorted(pending):
            merged, seen = pending[t]
            if len(seen | done) < count:
                break
            del pending[t]
            point = merged.point(vus=vus.pop(t, 0))
            series.append(point)
            if on_point is not None:
                on_point(point, count)
            reason = judge.feed(merged, float(t))
            if reason is not None and aborted is None:
                aborted = reason
                stop.set()
    return series, aborted
