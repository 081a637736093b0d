"""Load runs: Python workflows under k6's executors, measured without coordinated omission.

    from interlock.load import Scenario, Session

    async def browse(s: Session) -> None:
        r = await s.get("/products")
        s.check(r, {"status 200": lambda r: r.status == 200})
        await s.think()

Run one with ``python -m interlock.load scenario.py --target URL --executor
constant-arrival-rate --rate 100 --duration 30s``, from a test with the ``load`` fixture,
or in code with ``LoadRun(scenario, executor, target=...).run()``.
"""

from __future__ import annotations

from interlock.load.engine import LoadRun
from interlock.load.executors import (
    EXECUTORS,
    ConstantArrivalRate,
    ConstantVUs,
    Executor,
    PerVUIterations,
    RampingArrivalRate,
    RampingVUs,
    Stage,
)
from interlock.load.feeders import CsvFeeder, GeneratedFeeder
from interlock.load.http import HttpError, Response
from interlock.load.result import LoadResult
from interlock.load.scenario import Scenario, load_scenario
from interlock.load.session import CheckFailed, Session
from interlock.load.think import Think
from interlock.load.thresholds import LoadThreshold, parse_load_thresholds
from interlock.slo.aggregate import Aggregate

__all__ = [
    "EXECUTORS",
    "Aggregate",
    "CheckFailed",
    "ConstantArrivalRate",
    "ConstantVUs",
    "CsvFeeder",
    "Executor",
    "GeneratedFeeder",
    "HttpError",
    "LoadResult",
    "LoadRun",
    "LoadThreshold",
    "PerVUIterations",
    "RampingArrivalRate",
    "RampingVUs",
    "Response",
    "Scenario",
    "Session",
    "Stage",
    "Think",
    "load_scenario",
    "parse_load_thresholds",
]
