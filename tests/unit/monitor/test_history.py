"""The SQLite history: samples stored at once, rolled up past retention, read in buckets."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.monitor.history import History
from interlock.monitor.probes import Sample


def test_history_keeps_samples_and_reads_them_in_buckets(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        for t in range(6):
            history.add(Sample("web", 1000 + t * 10, t != 5, 10.0 * (t + 1)))
        assert history.count() == 6
        buckets = history.buckets("web", 0, 30)
    assert [(b.start, b.count, b.ok_count) for b in buckets] == [
        (990, 2, 2),
        (1020, 3, 3),
        (1050, 1, 0),
    ]
    assert buckets[1].latency_avg_ms == 40
    assert buckets[2].latency_max_ms == 60


def test_compaction_folds_old_samples_into_rollups_and_forgets_older_ones(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        for t in range(0, 120, 10):
            history.add(Sample("web", 10_000 + t, True, 5))
        history.add(Sample("web", 10_000 - 5000, True, 5))  # past the retention
        folded = history.compact(10_200, raw_retention=150, retention=1000, width=60)
        assert folded == 6  # samples before 10_050
        assert history.count() == 7
        # buckets read the same before and after compaction
        buckets = history.buckets("web", 0, 60)
    assert [(b.start, b.count) for b in buckets] == [(9960, 2), (10020, 6), (10080, 4)]


def test_a_sample_stored_is_on_disk_without_closing(tmp_path: Path) -> None:
    import sqlite3

    with History(tmp_path / "h.db") as history:
        history.add(Sample("web", 1, True, 5))
        other = sqlite3.connect(tmp_path / "h.db")
        assert other.execute("SELECT COUNT(*) FROM monitor_samples").fetchone() == (1,)
        other.close()


def test_history_cannot_be_reopened(tmp_path: Path) -> None:
    history = History(tmp_path / "h.db")
    with history:
        pass
    with pytest.raises(RuntimeError, match="opened once"), history:
        pass
