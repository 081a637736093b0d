"""Think time between a workflow's steps, drawn from a chosen distribution (seconds)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["Think", "parse_think"]

Kind = Literal["none", "constant", "uniform", "normal", "exponential", "lognormal"]
KINDS: Final = ("none", "constant", "uniform", "normal", "exponential", "lognormal")


@dataclass(frozen=True, kw_only=True)
class Think:
    """A pause distribution in seconds.

    ``constant``: always ``a``; ``uniform``: between ``a`` and ``b``; ``normal``: mean ``a``,
    standard deviation ``b``, clipped at 0; ``exponential``: mean ``a`` (a long tail);
    ``lognormal``: median ``a``, shape ``b`` (sigma of the log). Raises ValueError when a
    parameter is negative or missing.
    """

    kind: Kind = "none"
    a: float = 0.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown think-time distribution {self.kind!r}: one of {KINDS}")
        if self.a < 0 or self.b < 0:
            raise ValueError("think-time parameters are seconds and cannot be negative")
        if self.kind == "uniform" and self.b < self.a:
            raise ValueError("uniform think time needs a <= b")

    def draw(self, rng: random.Random) -> float:
        """One pause in seconds (>= 0)."""
        if self.kind == "none":
            return 0.0
        if self.kind == "constant":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "normal":
            return max(0.0, rng.gauss(self.a, self.b))
        if self.kind == "exponential":
            return rng.expovariate(1 / self.a) if self.a > 0 else 0.0
        return rng.lognormvariate(math.log(self.a), self.b) if self.a > 0 else 0.0


def parse_think(text: str) -> Think:
    """``KIND[:A[,B]]``, e.g. ``uniform:0.5,1.5`` or ``exponential:1``; raises ValueError."""
    kind, _, params = text.partition(":")
    try:
        values = [float(v) for v in params.split(",")] if params else []
    except ValueError:
        raise ValueError(f"bad think time {text!r}: parameters are seconds") from None
    if len(values) > 2:
        raise ValueError(f"bad think time {text!r}: at most two parameters")
    return Think(kind=kind, a=values[0] if values else 0.0, b=values[1] if len(values) > 1 else 0.0)  # type: ignore[arg-type]
