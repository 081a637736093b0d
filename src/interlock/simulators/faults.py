"""Fault rules a simulator applies to calls: status, 429, latency, hang, drop, malformed."""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from interlock.errors import ConfigError, InterlockError, UsageError
from interlock.suggest import did_you_mean

__all__ = [
    "FAULT_KINDS",
    "LATENCY_DISTRIBUTIONS",
    "FaultPlan",
    "FaultRule",
    "check_sim_faults",
    "parse_fault_spec",
]

FAULT_KINDS = ("status", "rate_limit", "latency", "hang", "drop", "malformed")
#: how ``latency`` draws each delay: uniform ms ± jitter_ms; normal with mean ms and
#: standard deviation jitter_ms; exponential with mean ms (a long tail, as real
#: services show under load); lognormal with median ms and a spread of jitter_ms
LATENCY_DISTRIBUTIONS = ("uniform", "normal", "exponential", "lognormal")
_ids = itertools.count(1)


@dataclass(kw_only=True)
class FaultRule:
    """One fault: what to do, to which calls, how often and how many times."""

    kind: str
    #: HTTP status for ``status`` (default 500)
    status: int = 500
    #: seconds in the Retry-After header of ``rate_limit``
    retry_after: float = 1.0
    #: added latency for ``latency``: ms, plus uniform jitter of ± jitter_ms
    ms: float = 0.0
    jitter_ms: float = 0.0
    #: ``latency`` only: how delays are drawn (see LATENCY_DISTRIBUTIONS)
    distribution: str = "uniform"
    #: a body to send instead of the service's own error shape (``status``)
    body: Any = None
    #: ``drop`` only: serve the call first, then cut the connection (the answer is lost)
    after: bool = False
    #: apply only to paths matching this regular expression / this method
    path: str | None = None
    method: str | None = None
    #: fraction of matching calls affected (seeded: replays the same way)
    rate: float = 1.0
    #: stop after this many affected calls (None: until removed)
    times: int | None = None
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(
                f"unknown fault kind {self.kind!r}", hint=f"use one of {', '.join(FAULT_KINDS)}"
            )
        if not 0 <= self.rate <= 1:
            raise ConfigError(f"fault rate must be between 0 and 1, got {self.rate}")
        if self.times is not None and self.times < 0:
            raise ConfigError(f"fault times must not be negative, got {self.times}")
        if self.ms < 0 or self.jitter_ms < 0 or self.retry_after < 0:
            raise ConfigError("fault latency and retry_after must not be negative")
        if self.distribution not in LATENCY_DISTRIBUTIONS:
            raise ConfigError(
                f"unknown latency distribution {self.distribution!r}",
                hint=f"use one of {', '.join(LATENCY_DISTRIBUTIONS)}",
            )
        if self.after and self.kind != "drop":
            raise ConfigError("fault option after= goes with kind drop only")
        if not 100 <= self.status <= 599:
            raise ConfigError(f"fault status must be an HTTP status, got {self.status}")
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ConfigError(f"fault path is not a valid regular expression: {exc}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {
            "kind",
            "status",
            "retry_after",
            "after",
            "ms",
            "jitter_ms",
            "distribution",
            "body",
            "path",
            "method",
            "rate",
            "times",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ConfigError(
                f"unknown fault field(s) {', '.join(sorted(unknown))}",
                hint=f"known: {', '.join(sorted(allowed))}",
            )
        if "kind" not in data:
            raise ConfigError("a fault needs a kind", hint=f"one of {', '.join(FAULT_KINDS)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad fault: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def delay_seconds(self, rng: random.Random) -> float:
        """One draw of a ``latency`` rule's delay (from the plan's seeded generator)."""
        if self.distribution == "normal":
            ms = rng.gauss(self.ms, self.jitter_ms)
        elif self.distribution == "exponential":
            ms = rng.expovariate(1 / self.ms) if self.ms > 0 else 0.0
        elif self.distribution == "lognormal":
            # median ms; sigma such that one spread up is ms + jitter_ms
            sigma = math.log1p(self.jitter_ms / self.ms) if self.ms > 0 else 0.0
            ms = self.ms * math.exp(rng.gauss(0.0, sigma))
        else:
            ms = self.ms + rng.uniform(-self.jitter_ms, self.jitter_ms)
        return max(0.0, ms) / 1000

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None


class FaultPlan:
    """The active rules of one simulator, in two tiers: run-wide rules and a test's own.

    Run-wide rules (``--sim-fault``, ``interlock sims --fault``) hold for the whole run:
    ``clear()`` and a simulator reset keep them; ``remove(id)`` takes one away. A test's
    own rules come first: when one of them matches a call (method and path), that call
    meets only the test's rules, never a run-wide one, so a test of exact fault
    behaviour sees exactly the faults it set. Within a tier, the first matching rule
    that fires (by its ``rate``) wins.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.run_wide: list[FaultRule] = []
        self.added: list[FaultRule] = []

    @property
    def rules(self) -> list[FaultRule]:
        """Every active rule, in the order calls meet them: a test's own, then run-wide."""
        return [*self.added, *self.run_wide]

    def add(self, rule: FaultRule, *, run_wide: bool = False) -> FaultRule:
        (self.run_wide if run_wide else self.added).append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        """Remove the rule with this id from either tier; False if there is none."""
        before = len(self.run_wide) + len(self.added)
        self.run_wide = [rule for rule in self.run_wide if rule.id != rule_id]
        self.added = [rule for rule in self.added if rule.id != rule_id]
        return len(self.run_wide) + len(self.added) != before

    def clear(self) -> None:
        """Remove the rules tests added; the run-wide ones stay, as the run's baseline."""
        self.added.clear()
        self.rng = random.Random(self.seed)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The rule that acts on this call, if any (counting its hit), by the tiers above."""
        tier = self.added
        matching = [rule for rule in tier if rule.matches(method, path)]
        if not matching:
            tier = self.run_wide
            matching = [rule for rule in tier if rule.matches(method, path)]
        for rule in matching:
            if rule.rate < 1 and self.rng.random() >= rule.rate:
                continue
            rule.hits += 1
            if rule.times is not None and rule.hits >= rule.times:
                tier.remove(rule)
            return rule
        return None


#: the values a flag option (``after``) accepts; '' is the bare flag
_TRUE = ("", "1", "true", "yes")
_FALSE = ("0", "false", "no")


def parse_fault_spec(spec: str) -> tuple[str, FaultRule]:
    """``stripe:status=500,rate=0.3`` or ``twilio:hang`` → (service, rule)."""
    service, sep, rest = spec.partition(":")
    if not sep or not service or not rest:
        raise ConfigError(
            f"bad fault {spec!r}",
            hint="write SERVICE:KIND[=VALUE][,key=value...], e.g. stripe:status=500,rate=0.5",
        )
    first, *options = rest.split(",")
    kind, _, value = first.partition("=")
    if kind not in FAULT_KINDS:  # before its value: 'stauts=500' is a misspelled kind
        raise ConfigError(
            f"unknown fault kind {kind!r} in {spec!r}",
            hint=did_you_mean(kind, FAULT_KINDS, listing="use one of"),
        )
    data: dict[str, Any] = {"kind": kind}
    if value:
        main = {"status": "status", "rate_limit": "retry_after", "latency": "ms"}.get(kind)
        if main is None:
            raise ConfigError(f"fault kind {kind!r} takes no value in {spec!r}")
        data[main] = value
    for option in options:
        key, _, val = option.partition("=")
        data[key] = val
    numeric = {
        "status": int,
        "retry_after": float,
        "ms": float,
        "jitter_ms": float,
        "rate": float,
        "times": int,
    }
    for key, convert in numeric.items():
        if key in data:
            try:
                data[key] = convert(data[key])
            except ValueError:
                raise ConfigError(f"fault {spec!r}: {key} must be a number") from None
    if "after" in data:
        # a flag: bare 'after' or a yes/no word; anything else is a typo, never a silent no
        flag = str(data["after"]).lower()
        if flag not in _TRUE + _FALSE:
            raise ConfigError(
                f"fault {spec!r}: after takes no value or one of {', '.join(_TRUE[1:] + _FALSE)}"
            )
        data["after"] = flag in _TRUE
    return service, FaultRule.from_dict(data)


def check_sim_faults(
    specs: Sequence[str],
    simulators: Sequence[str],
    *,
    flag: str = "--sim-fault",
    role: str = "a configured simulator",
) -> None:
    """Each simulator fault parses and names one of ``simulators``; else one UsageError."""
    if not specs:
        return
    for spec in specs:
        try:
            name, _ = parse_fault_spec(spec)
        except InterlockError as exc:
            raise UsageError(f"{flag} {spec!r}: {exc.message}", hint=exc.hint) from None
        if name not in simulators:
            raise UsageError(
                f"{flag} {spec!r} names {name!r}, which is not {role}",
                hint=f"choose from: {', '.join(simulators) or 'none'}",
            )
