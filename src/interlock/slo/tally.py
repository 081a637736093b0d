"""What a process recorded: each workflow's aggregate and the thresholds its tests declared."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, final

from interlock.errors import ConfigError
from interlock.slo.aggregate import Aggregate
from interlock.slo.thresholds import Threshold, parse_threshold

__all__ = ["Tally"]


@final
@dataclass(eq=False)
class Tally:
    """Figures per workflow plus test-declared thresholds; merges exactly with ``+=``."""

    figures: dict[str, Aggregate] = field(default_factory=dict)
    #: workflow -> rules its tests declared (every declaration adds; duplicates kept once)
    declared: dict[str, tuple[Threshold, ...]] = field(default_factory=dict)

    def record(self, name: str, duration_ms: float, *, ok: bool, error: str | None) -> None:
        self.figures.setdefault(name, Aggregate()).record(duration_ms, ok=ok, error=error)

    def merge(self, name: str, figures: Aggregate) -> None:
        self.figures.setdefault(name, Aggregate()).__iadd__(figures)

    def declare(self, name: str, rules: tuple[Threshold, ...]) -> None:
        known = self.declared.get(name, ())
        self.declared[name] = known + tuple(r for r in dict.fromkeys(rules) if r not in known)

    def __iadd__(self, other: Tally) -> Tally:
        for name, figures in other.figures.items():
            self.merge(name, figures)
        for name, rules in other.declared.items():
            self.declare(name, rules)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "figures": {name: agg.to_dict() for name, agg in sorted(self.figures.items())},
            "declared": {
                name: [r.expression for r in rules] for name, rules in sorted(self.declared.items())
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        """Inverse of ``to_dict``; raises ValueError on a malformed document."""
        try:
            figures = {str(k): Aggregate.from_dict(v) for k, v in data["figures"].items()}
            declared = {
                str(k): tuple(parse_threshold(r) for r in v) for k, v in data["declared"].items()
            }
        except (KeyError, TypeError, AttributeError, ConfigError) as exc:
            raise ValueError(f"not an SLO tally: {exc}") from None
        return cls(figures=figures, declared=declared)
