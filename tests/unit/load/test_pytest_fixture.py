"""The ``load`` fixture's body: runs against a real target and feeds the SLO recorder."""

from __future__ import annotations

from interlock.load import PerVUIterations, Session
from interlock.load.pytest_fixture import LoadFixture
from interlock.slo.record import Recorder
from interlock.slo.report import build_report

from .conftest import Target


async def checkout(s: Session) -> None:
    await s.get("/")
    await s.get("/status/503" if s.vu == 1 else "/")


def test_a_load_run_feeds_its_aggregate_to_the_slo_report(target: Target) -> None:
    recorder = Recorder()
    fixture = LoadFixture(base_url=target.url, slo=recorder)

    result = fixture.run(checkout, PerVUIterations(vus=2, iterations=5), thresholds=["p(95)<5000"])

    assert result.workflow.count == 10
    assert result.samples is None  # the recorder takes the aggregate, not a sample list
    assert recorder.tally.figures["checkout"] == result.workflow
    assert [r.expression for r in recorder.tally.declared["checkout"]] == ["p(95)<5000"]
    report = build_report(recorder.tally, defaults=())
    (stats,) = report.workflows
    assert stats.figures.runs == 10
    assert stats.figures.max_ms == result.workflow.max
    # VU 1's five iterations met a 503: failed steps, so failed workflows, in both reports
    assert result.steps["GET /status/503"].failures == 5
    assert result.workflow.failures == 5
    assert stats.figures.failures == 5
    assert dict(stats.figures.errors) == {"GET /status/503: status 503": 5}


def test_a_run_kept_out_of_the_slo_gate_records_nothing_there(target: Target) -> None:
    recorder = Recorder()
    fixture = LoadFixture(base_url=target.url, slo=recorder)

    result = fixture.run(
        checkout, PerVUIterations(vus=1, iterations=2), thresholds=["p(95)<5000"], slo=False
    )

    assert result.workflow.count == 2
    assert not recorder.tally.figures
    assert not recorder.tally.declared


def test_streams_run_together_feed_the_slo_report_unless_kept_out(target: Target) -> None:
    recorder = Recorder()
    fixture = LoadFixture(base_url=target.url, slo=recorder)
    streams = {
        "one": (checkout, PerVUIterations(vus=1, iterations=2)),
        "two": (checkout, PerVUIterations(vus=1, iterations=3)),
    }

    fixture.run_together(streams, thresholds={"one": ["p(95)<5000"]}, slo=False)
    assert not recorder.tally.figures
    assert not recorder.tally.declared

    results = fixture.run_together(streams, thresholds={"one": ["p(95)<5000"]})
    assert recorder.tally.figures["one"] == results["one"].workflow
    assert recorder.tally.figures["two"].count == 3
    assert [r.expression for r in recorder.tally.declared["one"]] == ["p(95)<5000"]
