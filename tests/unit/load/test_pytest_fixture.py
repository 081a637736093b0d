"""The ``load`` fixture's body: runs against the stack's app and feeds the SLO recorder."""

from __future__ import annotations

from types import SimpleNamespace

from interlock.pytest_plugin import SloRecorder

from interlock.load import PerVUIterations, Session
from interlock.load.pytest_fixture import load
from interlock.slo.record import Recorder
from interlock.slo.report import build_report

from .conftest import Target


async def checkout(s: Session) -> None:
    await s.get("/")
    await s.get("/status/503" if s.vu == 1 else "/")


def test_a_load_run_feeds_every_iteration_to_the_slo_report(target: Target) -> None:
    recorder = Recorder()
    fixture = load(SimpleNamespace(app_url=target.url), SloRecorder(recorder))

    result = fixture.run(checkout, PerVUIterations(vus=2, iterations=5), thresholds=["p(95)<5000"])

    assert result.workflow.count == 10
    assert [s.name for s in recorder.samples] == ["checkout"] * 10
    assert recorder.thresholds["checkout"] == ("p(95)<5000",)
    report = build_report(recorder, success_rate_pct=95, latency_ms=2000)
    (stats,) = report.workflows
    assert stats.runs == 10
    assert stats.max == result.workflow.max
    # VU 1's five iterations met a 503: failed steps, so failed workflows, in both reports
    assert result.steps["GET /status/503"].failures == 5
    assert result.workflow.failures == 5
    assert stats.failures == 5
    assert stats.errors == ("GET /status/503: status 503",)
