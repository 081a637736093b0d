"""The monitor's history: every sample and alert, with retention and rollups.

SQLite (WAL) by default, or a PostgreSQL database (e.g. the stack's) when the target is a
``postgresql://`` URL; tables are named ``monitor_*``. Each sample is committed as it is
stored, so a monitor killed with SIGKILL loses at most the check in flight. Raw samples
older than ``raw_retention`` are folded into rollups (checks, successes, latency sum and
max per probe and bucket); rollups older than ``retention`` are dropped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, final

from interlock.errors import DependencyError
from interlock.monitor.probes import Sample
from interlock.monitor.store import HISTORY_ERRORS, Store, open_store, redacted

__all__ = ["Bucket", "History"]


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


class _Fold:
    """Checks added up into one bucket."""

    __slots__ = ("checks", "latency_max", "latency_sum", "ok")

    def __init__(self) -> None:
        self.checks = self.ok = 0
        self.latency_sum = self.latency_max = 0.0

    def add(self, checks: int, ok: int, latency_sum: float, latency_max: float) -> None:
        self.checks += checks
        self.ok += ok
        self.latency_sum += latency_sum
        self.latency_max = max(self.latency_max, latency_max)


def _bucket(at: float, width: float) -> float:
    return math.floor(at / width) * width


@final
class History:
    """``with History(target) as history: history.add(sample)``; reuse after close raises.

    ``target`` is a SQLite file's path or a PostgreSQL URL. Opening raises DependencyError
    when the database cannot be opened; later calls raise what the database raises
    (``store.HISTORY_ERRORS``).
    """

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self._db: Store | None = None
        self._closed = False

    def __enter__(self) -> History:
        if self._db is not None or self._closed:
            raise RuntimeError("a History is opened once; make a new one to reopen it")
        try:
            self._db = open_store(self.target)
        except HISTORY_ERRORS as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise DependencyError(
                f"the monitor's history {redacted(self.target)} cannot be opened: {reason}"
            ) from None
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
    def db(self) -> Store:
        if self._db is None:
            raise RuntimeError("the history is not open (use 'with History(target)')")
        return self._db

    # -- writing ------------------------------------------------------------------------
    def add(self, sample: Sample, *, outage: bool = False) -> None:
        """Store one sample, committed before returning."""
        self.db.execute(
            "INSERT INTO monitor_samples (probe, at, ok, latency_ms, error, metrics, outage) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            "INSERT INTO monitor_system (at, source, cpu, memory) VALUES (%s, %s, %s, %s)",
            (at, source, cpu, memory),
        )

    def open_alert(self, key: str, rule: str, subject: str, message: str, started: float) -> int:
        """Record an alert that started; returns its id."""
        rows = self.db.execute(
            "INSERT INTO monitor_alerts (key, rule, subject, state, message, started) "
            "VALUES (%s, %s, %s, 'pending', %s, %s) RETURNING id",
            (key, rule, subject, message, started),
        )
        return int(rows[0][0])

    def update_alert(self, alert_id: int, state: str, message: str, fired: float | None) -> None:
        self.db.execute(
            "UPDATE monitor_alerts SET state = %s, message = %s, fired = %s WHERE id = %s",
            (state, message, fired, alert_id),
        )

    def end_alert(self, alert_id: int, state: str, ended: float, reason: str) -> None:
        """Close an alert: ``state`` is ``resolved`` or ``stopped``."""
        self.db.execute(
            "UPDATE monitor_alerts SET state = %s, ended = %s, end_reason = %s WHERE id = %s",
            (state, ended, reason, alert_id),
        )

    def compact(self, now: float, *, raw_retention: float, retention: float, width: float) -> int:
        """Fold raw samples older than ``raw_retention`` into rollups; drop old rollups.

        Returns how many raw samples were folded.
        """
        cutoff = now - raw_retention
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT probe, at, ok, latency_ms FROM monitor_samples WHERE at < %s", (cutoff,)
            )
            folds: dict[tuple[str, float], _Fold] = {}
            for probe, at, ok, latency in rows:
                folds.setdefault((probe, _bucket(at, width)), _Fold()).add(1, ok, latency, latency)
            for (probe, bucket), fold in folds.items():
                self.db.execute(
                    "INSERT INTO monitor_rollups (probe, bucket, width, checks, ok_checks, "
                    "latency_sum, latency_max) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (probe, bucket) DO UPDATE SET "
                    "checks = monitor_rollups.checks + excluded.checks, "
                    "ok_checks = monitor_rollups.ok_checks + excluded.ok_checks, "
                    "latency_sum = monitor_rollups.latency_sum + excluded.latency_sum, "
                    "latency_max = CASE WHEN excluded.latency_max > monitor_rollups.latency_max "
                    "THEN excluded.latency_max ELSE monitor_rollups.latency_max END",
                    (
                        probe,
                        bucket,
                        width,
                        fold.checks,
                        fold.ok,
                        fold.latency_sum,
                        fold.latency_max,
                    ),
                )
            self.db.execute("DELETE FROM monitor_samples WHERE at < %s", (cutoff,))
            self.db.execute("DELETE FROM monitor_rollups WHERE bucket < %s", (now - retention,))
            self.db.execute("DELETE FROM monitor_system WHERE at < %s", (now - retention,))
        return len(rows)

    # -- reading ------------------------------------------------------------------------
    def count(self, probe: str | None = None) -> int:
        """Raw samples stored (of one probe, or all)."""
        if probe is None:
            return int(self.db.execute("SELECT COUNT(*) FROM monitor_samples")[0][0])
        rows = self.db.execute("SELECT COUNT(*) FROM monitor_samples WHERE probe = %s", (probe,))
        return int(rows[0][0])

    def probes(self) -> list[str]:
        rows = self.db.execute(
            "SELECT probe FROM monitor_samples UNION SELECT probe FROM monitor_rollups"
        )
        return sorted(row[0] for row in rows)

    def recent(self, probe: str, since: float) -> list[tuple[Sample, bool]]:
        """Raw samples of ``probe`` from ``since`` on, oldest first, with their outage flag."""
        rows = self.db.execute(
            "SELECT at, ok, latency_ms, error, metrics, outage FROM monitor_samples "
            "WHERE probe = %s AND at >= %s ORDER BY at",
            (probe, since),
        )
        return [
            (Sample(probe, at, bool(ok), latency, error, json.loads(metrics)), bool(outage))
            for at, ok, latency, error, metrics, outage in rows
        ]

    def buckets(self, probe: str, since: float, width: float) -> list[Bucket]:
        """Checks of ``probe`` since ``since`` in buckets of ``width`` s (raw and rolled up)."""
        folds: dict[float, _Fold] = {}
        for at, ok, latency in self.db.execute(
            "SELECT at, ok, latency_ms FROM monitor_samples WHERE probe = %s AND at >= %s",
            (probe, since),
        ):
            folds.setdefault(_bucket(at, width), _Fold()).add(1, ok, latency, latency)
        for bucket, checks, ok, latency_sum, latency_max in self.db.execute(
            "SELECT bucket, checks, ok_checks, latency_sum, latency_max FROM monitor_rollups "
            "WHERE probe = %s AND bucket >= %s",
            (probe, since),
        ):
            folds.setdefault(_bucket(bucket, width), _Fold()).add(
                checks, ok, latency_sum, latency_max
            )
        return [
            Bucket(probe, start, width, f.checks, f.ok, f.latency_sum / f.checks, f.latency_max)
            for start, f in sorted(folds.items())
        ]

    def alerts(self, since: float = 0) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, key, rule, subject, state, message, started, fired, ended, end_reason "
            "FROM monitor_alerts WHERE started >= %s ORDER BY id",
            (since,),
        )
        names = ("id", "key", "rule", "subject", "state", "message", "started", "fired")
        return [dict(zip((*names, "ended", "end_reason"), row, strict=True)) for row in rows]
