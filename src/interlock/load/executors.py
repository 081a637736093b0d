"""Executors with k6's names and meaning: when iterations start and how many run at once.

Open model (``constant-arrival-rate``, ``ramping-arrival-rate``): iterations start on a
schedule whatever the server does; each is timed from its *intended* start, so a stalled
server shows in the percentiles (no coordinated omission); an iteration that finds no
free VU (all ``max_vus`` busy) is not started and counts as dropped.
Closed model (``constant-vus``, ``ramping-vus``, ``per-vu-iterations``): each VU starts its
next iteration when the previous one ends; iterations are timed from their actual start.
All times are seconds, rates are iterations per second.
"""

from __future__ import annotations

import abc
import asyncio
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ClassVar, Protocol

from interlock.errors import UsageError

__all__ = [
    "EXECUTORS",
    "ConstantArrivalRate",
    "ConstantVUs",
    "Executor",
    "PerVUIterations",
    "RampingArrivalRate",
    "RampingVUs",
    "Stage",
    "arrival_offsets",
]

_now = time.perf_counter


class Engine(Protocol):
    """What an executor drives: VUs, iterations and the run's clock (``t0``, perf_counter s)."""

    t0: float

    def new_vu(self) -> Any: ...

    def spawn(self, vu: Any, intended: float) -> asyncio.Task[None]: ...

    async def iterate(self, vu: Any, intended: float) -> None: ...

    def record_dropped(self) -> None: ...


@dataclass(frozen=True)
class Stage:
    """Move linearly to ``target`` (iterations/s or VUs) over ``duration`` seconds."""

    duration: float
    target: float


def _positive(name: str, value: float, *, zero: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise UsageError(f"{name} must be {'>= 0' if zero else '> 0'}, not {value:g}")


def _check_stages(stages: Sequence[Stage]) -> None:
    if not stages:
        raise UsageError("a ramping executor needs at least one stage (DURATION:TARGET)")
    for stage in stages:
        _positive("a stage's duration", stage.duration, zero=True)
        _positive("a stage's target", stage.target, zero=True)


def _share(total: int, index: int, count: int) -> int:
    """Shard ``index`` of ``count``'s part of ``total`` (parts differ by at most one)."""
    return total // count + (1 if index < total % count else 0)


@dataclass(frozen=True, kw_only=True)
class Executor(abc.ABC):
    """Base of the five executors; ``graceful_stop`` bounds the wait for running iterations."""

    name: ClassVar[str]
    open_model: ClassVar[bool] = False
    graceful_stop: float = 30.0

    def validate(self) -> None:
        """Raise UsageError (one line) on a bad parameter."""
        _positive("graceful_stop", self.graceful_stop, zero=True)

    @abc.abstractmethod
    def shard(self, index: int, count: int) -> Executor:
        """The part of this executor shard ``index`` of ``count`` runs."""

    @property
    @abc.abstractmethod
    def planned_duration(self) -> float:
        """Seconds the executor plans to run, graceful stop excluded."""

    @abc.abstractmethod
    def describe(self) -> str:
        """One line for the progress header, k6-like."""

    @abc.abstractmethod
    async def drive(self, engine: Engine) -> None:
        """Start the iterations on ``engine`` as this executor schedules them."""


def arrival_offsets(
    start_rate: float, stages: Sequence[Stage], *, shard: tuple[int, int] = (0, 1)
) -> Iterator[float]:
    """Intended start offsets (s) of iterations at a piecewise-linear rate (per s).

    The i-th iteration starts when the expected count reaches i; shard (k, n) takes the
    iterations with i % n == k, so n shards together run exactly the single schedule.
    """
    index, count = shard
    t_base, n_base, i = 0.0, 0.0, 0
    r0 = start_rate
    for stage in stages:
        r1, span = stage.target, stage.duration
        total = (r0 + r1) / 2 * span
        slope = (r1 - r0) / (2 * span) if span else 0.0
        while i < n_base + total - 1e-9:
            x = i - n_base
            if abs(slope) < 1e-12:
                t = x / r0
            else:
                t = (-r0 + math.sqrt(max(r0 * r0 + 4 * slope * x, 0.0))) / (2 * slope)
            if i % count == index:
                yield t_base + t
            i += 1
        t_base += span
        n_base += total
        r0 = r1


async def _drive_open(
    engine: Engine, offsets: Iterator[float], pre_allocated: int, max_vus: int
) -> None:
    free = [engine.new_vu() for _ in range(pre_allocated)]
    allocated = pre_allocated
    burst = 0
    t0 = engine.t0
    for offset in offsets:
        due = t0 + offset
        wait = due - _now()
        if wait > 0:
            burst = 0
            await asyncio.sleep(wait)
        else:
            burst += 1
            if burst >= 64:  # behind schedule: still let running iterations progress
                burst = 0
                await asyncio.sleep(0)
        if free:
            vu = free.pop()
        elif allocated < max_vus:
            vu = engine.new_vu()
            allocated += 1
        else:
            engine.record_dropped()
            continue
        engine.spawn(vu, due).add_done_callback(partial(_release, free, vu))


def _release(free: list[Any], vu: Any, _task: asyncio.Task[None]) -> None:
    free.append(vu)


@dataclass(frozen=True, kw_only=True)
class ConstantArrivalRate(Executor):
    """``rate`` iterations per second for ``duration`` s, on up to ``max_vus`` VUs."""

    name: ClassVar[str] = "constant-arrival-rate"
    open_model: ClassVar[bool] = True
    rate: float
    duration: float
    pre_allocated_vus: int = 10
    max_vus: int = 100
    shard_of: tuple[int, int] = (0, 1)

    def validate(self) -> None:
        super().validate()
        _positive("--rate", self.rate)
        _positive("--duration", self.duration)
        _positive("--vus (pre-allocated VUs)", self.pre_allocated_vus, zero=True)
        if self.max_vus < max(self.pre_allocated_vus, 1):
            raise UsageError("--max-vus must be at least 1 and at least the pre-allocated VUs")

    def shard(self, index: int, count: int) -> ConstantArrivalRate:
        return replace(
            self,
            pre_allocated_vus=math.ceil(self.pre_allocated_vus / count),
            max_vus=math.ceil(self.max_vus / count),
            shard_of=(index, count),
        )

    @property
    def planned_duration(self) -> float:
        return self.duration

    def describe(self) -> str:
        return (
            f"{self.rate:g}/s for {self.duration:g}s, VUs {self.pre_allocated_vus}..{self.max_vus}"
        )

    async def drive(self, engine: Engine) -> None:
        offsets = arrival_offsets(self.rate, [Stage(self.duration, self.rate)], shard=self.shard_of)
        await _drive_open(engine, offsets, self.pre_allocated_vus, self.max_vus)


@dataclass(frozen=True, kw_only=True)
class RampingArrivalRate(Executor):
    """From ``start_rate`` per second through ``stages`` (linear ramps), on up to ``max_vus``."""

    name: ClassVar[str] = "ramping-arrival-rate"
    open_model: ClassVar[bool] = True
    start_rate: float = 0.0
    stages: tuple[Stage, ...] = ()
    pre_allocated_vus: int = 10
    max_vus: int = 100
    shard_of: tuple[int, int] = (0, 1)

    def validate(self) -> None:
        super().validate()
        _positive("--rate (start rate)", self.start_rate, zero=True)
        _check_stages(self.stages)
        if self.start_rate == 0 and self.stages[0].target == 0:
            raise UsageError("a ramping arrival rate that starts at 0 must ramp up first")
        if self.max_vus < max(self.pre_allocated_vus, 1):
            raise UsageError("--max-vus must be at least 1 and at least the pre-allocated VUs")

    def shard(self, index: int, count: int) -> RampingArrivalRate:
        return replace(
            self,
            pre_allocated_vus=math.ceil(self.pre_allocated_vus / count),
            max_vus=math.ceil(self.max_vus / count),
            shard_of=(index, count),
        )

    @property
    def planned_duration(self) -> float:
        return sum(s.duration for s in self.stages)

    def describe(self) -> str:
        ramp = " ".join(f"{s.duration:g}s:{s.target:g}/s" for s in self.stages)
        return f"from {self.start_rate:g}/s {ramp}, VUs {self.pre_allocated_vus}..{self.max_vus}"

    async def drive(self, engine: Engine) -> None:
        offsets = arrival_offsets(self.start_rate, self.stages, shard=self.shard_of)
        await _drive_open(engine, offsets, self.pre_allocated_vus, self.max_vus)


async def _vu_loop(
    engine: Engine, vu: Any, end: float, iterations: float, stop: list[bool]
) -> None:
    done = 0
    while done < iterations and _now() < end and not stop[0]:
        await engine.iterate(vu, _now())
        done += 1


@dataclass(frozen=True, kw_only=True)
class _FixedVUs(Executor):
    """``vus`` VUs each looping until its iterations are done or the planned time is up."""

    vus: int

    def validate(self) -> None:
        super().validate()
        _positive("--vus", self.vus)

    def shard(self, index: int, count: int) -> _FixedVUs:
        return replace(self, vus=_share(self.vus, index, count))

    @property
    @abc.abstractmethod
    def per_vu(self) -> float:
        """Iterations each VU runs at most (``math.inf``: until the time is up)."""

    async def drive(self, engine: Engine) -> None:
        end = engine.t0 + self.planned_duration
        never = [False]
        await asyncio.gather(
            *(_vu_loop(engine, engine.new_vu(), end, self.per_vu, never) for _ in range(self.vus))
        )


@dataclass(frozen=True, kw_only=True)
class ConstantVUs(_FixedVUs):
    """``vus`` VUs each looping over the workflow for ``duration`` s."""

    name: ClassVar[str] = "constant-vus"
    duration: float

    def validate(self) -> None:
        super().validate()
        _positive("--duration", self.duration)

    @property
    def per_vu(self) -> float:
        return math.inf

    @property
    def planned_duration(self) -> float:
        return self.duration

    def describe(self) -> str:
        return f"{self.vus} VUs for {self.duration:g}s"


@dataclass(frozen=True, kw_only=True)
class PerVUIterations(_FixedVUs):
    """``vus`` VUs each running ``iterations`` iterations, within ``max_duration`` s."""

    name: ClassVar[str] = "per-vu-iterations"
    iterations: int
    max_duration: float = 600.0

    def validate(self) -> None:
        super().validate()
        _positive("--iterations", self.iterations)
        _positive("--duration (max duration)", self.max_duration)

    @property
    def per_vu(self) -> float:
        return self.iterations

    @property
    def planned_duration(self) -> float:
        return self.max_duration

    def describe(self) -> str:
        return f"{self.vus} VUs x {self.iterations} iterations (at most {self.max_duration:g}s)"


@dataclass(frozen=True, kw_only=True)
class RampingVUs(Executor):
    """From ``start_vus`` through ``stages`` of VU targets; VUs above target stop after their
    current iteration (graceful ramp-down)."""

    name: ClassVar[str] = "ramping-vus"
    start_vus: int = 0
    stages: tuple[Stage, ...] = ()
    shard_of: tuple[int, int] = (0, 1)
    tick: float = field(default=0.1, repr=False)

    def validate(self) -> None:
        super().validate()
        _positive("--vus (start VUs)", self.start_vus, zero=True)
        _check_stages(self.stages)

    def shard(self, index: int, count: int) -> RampingVUs:
        return replace(self, shard_of=(index, count))

    @property
    def planned_duration(self) -> float:
        return sum(s.duration for s in self.stages)

    def describe(self) -> str:
        ramp = " ".join(f"{s.duration:g}s:{s.target:g}" for s in self.stages)
        return f"from {self.start_vus} VUs {ramp}"

    def target_at(self, elapsed: float) -> int:
        """This shard's VU target ``elapsed`` seconds into the run."""
        start, level = 0.0, float(self.start_vus)
        for stage in self.stages:
            if elapsed < start + stage.duration:
                level += (stage.target - level) * (elapsed - start) / stage.duration
                break
            start += stage.duration
            level = stage.target
        return _share(round(level), *self.shard_of)

    async def drive(self, engine: Engine) -> None:
        end = engine.t0 + self.planned_duration
        running: list[tuple[asyncio.Task[None], list[bool]]] = []
        try:
            while _now() < end:
                want = self.target_at(_now() - engine.t0)
                running = [(t, s) for t, s in running if not t.done()]
                active = [(t, s) for t, s in running if not s[0]]
                for _ in range(want - len(active)):
                    stop = [False]
                    task = asyncio.ensure_future(
                        _vu_loop(engine, engine.new_vu(), end, math.inf, stop)
                    )
                    running.append((task, stop))
                for _, stop in active[want:]:
                    stop[0] = True
                # a control period, not synchronisation: targets change at most this often
                await asyncio.sleep(self.tick)
            await asyncio.gather(*(t for t, _ in running))
        finally:
            for task, _ in running:
                task.cancel()


EXECUTORS: dict[str, type[Executor]] = {
    cls.name: cls
    for cls in (ConstantArrivalRate, RampingArrivalRate, ConstantVUs, RampingVUs, PerVUIterations)
}
