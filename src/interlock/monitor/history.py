"""The monitor's history: every sample and alert in SQLite (WAL), with retention and rollups.

Each sample is committed as it is stored, so a monitor killed with SIGKILL loses at most
the check in flight. Raw samples older than ``raw_retention`` are folded into rollups
(count, successes, latency sum and max per probe and bucket); rollups older than
``retention`` are dropped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, final

from interlock.monitor.probes import Sample

__all__ = ["Bucket", "History"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY, probe TEXT NOT NULL, at REAL NOT NULL, ok INTEGER NOT NULL,
    latency_ms REAL NOT NULL, error TEXT, metrics TEXT NOT NULL DEFAULT '{}',
    outage INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS samples_probe_at ON samples (probe, at);
CREATE TABLE IF NOT EXISTS rollups (
    probe TEXT NOT NULL, bucket REAL NOT NULL, width REAL NOT NULL, count INTEGER NOT NULL,
    ok_count INTEGER NOT NULL, latency_sum REAL NOT NULL, latency_max REAL NOT NULL,
    PRIMARY KEY (probe, bucket));
CREATE TABLE IF NOT EXISTS system (
    at REAL NOT NULL, source TEXT NOT NULL, cpu REAL NOT NULL, memory REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,
    state TEXT NOT NULL, message TEXT NOT NULL, started REAL NOT NULL, fired REAL,
    ended REAL, end_reason TEXT);
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    """Checks of one probe in one time bucket: ``start`` (Unix s), ``width`` (s)."""

    probe: str
    start: float
    width: float
    count: int
    ok_count: int
    latency_avg_ms: float
    latency_max_ms: float

    @property
    def success_rate(self) -> float:
        """Percent of successful checks."""
        return 100.0 * self.ok_count / self.count if self.count else 0.0


@final
class History:
    """``with History(path) as history: history.add(sample)``; reuse after close raises."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._closed = False

    def __enter__(self) -> History:
        if self._db is not None or self._closed:
            raise RuntimeError("a History is opened once; make a new one to reopen the file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed sample survives the process being killed
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        self._db = db
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None
        self._closed = True

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the history is not open (use 'with History(path)')")
        return self._db

    # -- writing ------------------------------------------------------------------------
    def add(self, sample: Sample, *, outage: bool = False) -> None:
        """Store one sample, committed before returning."""
        self.db.execute(
            "INSERT INTO samples (probe, at, ok, latency_ms, error, metrics, outage) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sample.probe,
                sample.at,
                int(sample.ok),
                sample.latency_ms,
                sample.error,
                json.dumps(dict(sample.metrics)),
                int(outage),
            ),
        )

    def add_system(self, at: float, source: str, cpu: float, memory: float) -> None:
        """Store CPU and memory (percent) of the host or of a watched process."""
        self.db.execute(
            "INSERT INTO system (at, source, cpu, memory) VALUES (?, ?, ?, ?)",
            (at, source, cpu, memory),
        )

    def open_alert(self, key: str, rule: str, subject: str, message: str, started: float) -> int:
        """Record an alert that started; returns its id."""
        cursor = self.db.execute(
            "INSERT INTO alerts (key, rule, subject, state, message, started) "
            "VALUES (?, ?, ?, 'pending', ?, ?)",
            (key, rule, subject, message, started),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_alert(self, alert_id: int, state: str, message: str, fired: float | None) -> None:
        self.db.execute(
            "UPDATE alerts SET state = ?, message = ?, fired = ? WHERE id = ?",
            (state, message, fired, alert_id),
        )

    def end_alert(self, alert_id: int, state: str, ended: float, reason: str) -> None:
        """Close an alert: ``state`` is ``resolved`` or ``stopped``."""
        self.db.execute(
            "UPDATE alerts SET state = ?, ended = ?, end_reason = ? WHERE id = ?",
            (state, ended, reason, alert_id),
        )

    def compact(self, now: float, *, raw_retention: float, retention: float, width: float) -> int:
        """Fold raw samples older than ``raw_retention`` into rollups; drop old rollups.

        Returns how many raw samples were folded.
        """
        cutoff = now - raw_retention
        with self._transaction():
            self.db.execute(
                "INSERT INTO rollups (probe, bucket, width, count, ok_count, latency_sum, "
                "latency_max) SELECT probe, CAST(at / :w AS INTEGER) * :w AS b, :w, COUNT(*), "
                "SUM(ok), SUM(latency_ms), MAX(latency_ms) FROM samples WHERE at < :cut "
                "GROUP BY probe, b ON CONFLICT (probe, bucket) DO UPDATE SET "
                "count = count + excluded.count, ok_count = ok_count + excluded.ok_count, "
                "latency_sum = latency_sum + excluded.latency_sum, "
                "latency_max = MAX(latency_max, excluded.latency_max)",
                {"w": width, "cut": cutoff},
            )
            folded = self.db.execute("DELETE FROM samples WHERE at < ?", (cutoff,)).rowcount
            self.db.execute("DELETE FROM rollups WHERE bucket < ?", (now - retention,))
            self.db.execute("DELETE FROM system WHERE at < ?", (now - retention,))
        return folded

    # -- reading ------------------------------------------------------------------------
    def count(self, probe: str | None = None) -> int:
        """Raw samples stored (of one probe, or all)."""
        sql, args = "SELECT COUNT(*) FROM samples", tuple[str, ...]()
        if probe is not None:
            sql, args = sql + " WHERE probe = ?", (probe,)
        return int(self.db.execute(sql, args).fetchone()[0])

    def probes(self) -> list[str]:
        rows = self.db.execute("SELECT probe FROM samples UNION SELECT probe FROM rollups")
        return sorted(row[0] for row in rows)

    def recent(self, probe: str, since: float) -> list[tuple[Sample, bool]]:
        """Raw samples of ``probe`` from ``since`` on, oldest first, with their outage flag."""
        rows = self.db.execute(
            "SELECT at, ok, latency_ms, error, metrics, outage FROM samples "
            "WHERE probe = ? AND at >= ? ORDER BY at",
            (probe, since),
        )
        return [
            (Sample(probe, at, bool(ok), latency, error, json.loads(metrics)), bool(outage))
            for at, ok, latency, error, metrics, outage in rows
        ]

    def buckets(self, probe: str, since: float, width: float) -> list[Bucket]:
        """Checks of ``probe`` since ``since`` in buckets of ``width`` s (raw and rolled up)."""
        rows = self.db.execute(
            "SELECT CAST(b / :w AS INTEGER) * :w AS bb, SUM(n), SUM(okn), SUM(ls), MAX(lm) FROM ("
            " SELECT at AS b, 1 AS n, ok AS okn, latency_ms AS ls, latency_ms AS lm"
            " FROM samples WHERE probe = :p AND at >= :s"
            " UNION ALL SELECT bucket, count, ok_count, latency_sum, latency_max"
            " FROM rollups WHERE probe = :p AND bucket >= :s"
            ") GROUP BY bb ORDER BY bb",
            {"w": width, "p": probe, "s": since},
        )
        return [
            Bucket(probe, float(start), width, int(n), int(okn), float(ls) / n, float(lm))
            for start, n, okn, ls, lm in rows
        ]

    def alerts(self, since: float = 0) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, key, rule, subject, state, message, started, fired, ended, end_reason "
            "FROM alerts WHERE started >= ? ORDER BY id",
            (since,),
        )
        names = ("id", "key", "rule", "subject", "state", "message", "started", "fired")
        return [dict(zip((*names, "ended", "end_reason"), row, strict=True)) for row in rows]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
