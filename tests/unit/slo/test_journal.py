"""Journals: what a process records reaches the run folder at once, and merges exactly."""

from __future__ import annotations

import pytest

from interlock.slo.aggregate import Aggregate
from interlock.slo.journal import Journal, collect
from interlock.slo.record import Recorder


def test_every_run_is_on_disk_the_moment_it_is_recorded(tmp_path):
    recorder = Recorder(Journal(tmp_path, "gw0"))
    recorder.declare("checkout", "rate>=0.99")
    recorder.add("checkout", 12.5, ok=False, error="HTTP 502")
    recorder.journal.close()  # no finish(): as if the process had been killed here
    tally = collect(tmp_path)
    assert (tally.figures["checkout"].runs, tally.figures["checkout"].failures) == (1, 1)
    assert [r.expression for r in tally.declared["checkout"]] == ["rate>=0.99"]


def test_a_clean_finish_leaves_a_tally_that_collects_to_the_same_figures(tmp_path):
    recorder = Recorder(Journal(tmp_path, "gw0"))
    for i in range(50):
        recorder.add("checkout", float(i), ok=i % 10 != 0, error="boom")
    before = collect(tmp_path)
    recorder.finish()
    assert [p.name for p in tmp_path.iterdir()] == ["gw0.json"]
    assert collect(tmp_path).figures == before.figures


def test_processes_journals_merge_and_a_torn_last_line_is_skipped(tmp_path):
    finished = Recorder(Journal(tmp_path, "gw0"))
    finished.add("checkout", 10.0, ok=True)
    finished.finish()
    crashed = Recorder(Journal(tmp_path, "gw1"))
    crashed.add("checkout", 20.0, ok=False, error="killed")
    crashed.journal.close()
    with (tmp_path / "gw1.jsonl").open("a") as torn:
        torn.write('{"run":"checkout","ms":3')
    tally = collect(tmp_path)
    figures = tally.figures["checkout"]
    assert (figures.runs, figures.failures, figures.max_ms) == (2, 1, 20.0)


def test_a_corrupt_line_before_the_last_is_an_error_not_a_silent_gap(tmp_path):
    (tmp_path / "gw0.jsonl").write_text('{"run":"x"}\n{"run":"x","ms":1,"ok":true,"error":null}\n')
    with pytest.raises(ValueError, match=r"gw0\.jsonl:1"):
        collect(tmp_path)


def test_nothing_is_written_by_a_process_that_recorded_nothing(tmp_path):
    recorder = Recorder(Journal(tmp_path / "journal", "main"))
    recorder.finish()
    assert not (tmp_path / "journal").exists()


def test_recorder_marks_a_run_failed_when_the_block_raises():
    recorder = Recorder()
    with pytest.raises(ValueError, match="nope"), recorder.workflow("w"):
        raise ValueError("nope")
    with recorder.workflow("w"):
        pass
    figures = recorder.tally.figures["w"]
    assert (figures.runs, figures.failures) == (2, 1)
    assert dict(figures.errors) == {"ValueError: nope": 1}


def test_declaring_a_bad_threshold_fails_at_once():
    from interlock.errors import ConfigError

    with pytest.raises(ConfigError):
        Recorder().declare("w", "p(95)<<3")


def test_a_merged_aggregate_is_journaled_at_once_and_counts_as_its_runs(tmp_path):
    figures = Aggregate()
    for i in range(100):
        figures.record(float(i), ok=i % 25 != 0, error="HTTP 503")
    recorder = Recorder(Journal(tmp_path, "gw0"))
    recorder.add("checkout", 500.0, ok=True)
    recorder.merge("checkout", figures)
    recorder.journal.close()  # no finish(): as if the process had been killed here
    replayed = collect(tmp_path).figures["checkout"]
    recorder.finish()
    compacted = collect(tmp_path).figures["checkout"]
    expected = Aggregate()
    expected.record(500.0, ok=True)
    expected += figures
    assert replayed == compacted == expected
    assert (replayed.runs, replayed.failures, replayed.max_ms) == (101, 4, 500.0)
