"""Recording of named workflow runs: when, how long, whether they succeeded and why not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Recorder", "Sample"]


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One run of a workflow."""

    name: str
    start: float
    duration_ms: float
    ok: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        return cls(**data)


@dataclass
class Recorder:
    """Collects samples and the thresholds declared for each workflow."""

    samples: list[Sample] = field(default_factory=list)
    thresholds: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @contextmanager
    def workflow(self, name: str) -> Iterator[None]:
        """Time the block; an exception marks the run failed (and still propagates)."""
        start = time.time()
        began = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            self.add(
                name,
                start,
                (time.perf_counter() - began) * 1000,
                False,
                f"{type(exc).__name__}: {exc}".strip()[:500],
            )
            raise
        self.add(name, start, (time.perf_counter() - began) * 1000, True)

    def add(
        self, name: str, start: float, duration_ms: float, ok: bool, error: str | None = None
    ) -> Sample:
        sample = Sample(name=name, start=start, duration_ms=duration_ms, ok=ok, error=error)
        self.samples.append(sample)
        return sample

    def declare(self, name: str, *rules: str) -> None:
        """Set the thresholds of a workflow (k6 style, e.g. ``p(95)<1500``, ``rate>=0.99``)."""
        from interlock.slo.thresholds import parse_threshold

        for rule in rules:
            parse_threshold(rule)  # fail at the declaration, not at the verdict
        self.thresholds[name] = tuple(rules)

    def export(self) -> dict[str, Any]:
        return {
            "samples": [s.to_dict() for s in self.samples],
            "thresholds": {k: list(v) for k, v in self.thresholds.items()},
        }

    def merge(self, data: dict[str, Any]) -> None:
        self.samples.extend(Sample.from_dict(s) for s in data.get("samples", []))
        for name, rules in data.get("thresholds", {}).items():
            self.thresholds.setdefault(name, tuple(rules))
