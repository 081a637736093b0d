"""Thresholds of a load run, in the SLO gate's k6 syntax, judged live and at the end.

A rule is ``p(95)<2000`` (over the whole run so far) or ``p(95)<2000 over 30s`` (sustained:
it must hold over every 30-second window). With ``abort_on_fail`` a failing rule stops the
run once ``delay`` seconds have passed (k6's abortOnFail / delayAbortEval).
"""

from __future__ import annotations

import operator
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from interlock.errors import ConfigError, UsageError
from interlock.load.metrics import Second
from interlock.slo.aggregate import Aggregate
from interlock.slo.thresholds import Threshold, parse_threshold

__all__ = ["Judge", "LoadThreshold", "ThresholdState", "parse_load_thresholds"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
_WINDOW = re.compile(r"^(?P<rule>.*?)\s+over\s+(?P<n>\d+(?:\.\d+)?)\s*s\s*$")


@dataclass(frozen=True, kw_only=True)
class LoadThreshold:
    """A rule on one figure: ``target`` is the workflow's name or a step's name; ``origin``
    says where a rule nobody wrote comes from (e.g. the default success-rate gate)."""

    target: str
    rule: Threshold
    window: float | None = None
    abort_on_fail: bool = False
    delay: float = 0.0
    origin: str | None = None

    @property
    def expression(self) -> str:
        over = f" over {self.window:g}s" if self.window else ""
        return f"{self.rule.expression}{over}"

    def holds(self, agg: Aggregate) -> tuple[bool, float | None]:
        """Whether the rule holds on ``agg`` and the figure it was judged on; no runs fails,
        with no figure (None), never a 0 that reads as measured."""
        if agg.count == 0:
            return False, None
        actual = agg.figure(self.rule.metric, self.rule.percentile)
        return _OPS[self.rule.op](actual, self.rule.value), actual


def parse_load_thresholds(
    rules: Mapping[str, Sequence[str]], *, abort_on_fail: bool = False, delay: float = 0.0
) -> list[LoadThreshold]:
    """Parse ``{target: [rule, ...]}``; raises UsageError (one line) on a bad rule."""
    parsed = []
    for target, texts in rules.items():
        for text in [texts] if isinstance(texts, str) else texts:
            match = _WINDOW.match(text)
            window = float(match["n"]) if match else None
            try:
                rule = parse_threshold(match["rule"] if match else text)
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
            if window is not None and window <= 0:
                raise UsageError(f"bad threshold {text!r}: the window must be > 0 s")
            parsed.append(
                LoadThreshold(
                    target=target,
                    rule=rule,
                    window=window,
                    abort_on_fail=abort_on_fail,
                    delay=delay,
                )
            )
    return parsed


class ThresholdState:
    """One threshold's verdict as the run goes: the worst window, or the run's figure."""

    def __init__(self, threshold: LoadThreshold) -> None:
        self.threshold = threshold
        self.ok = True
        self.actual: float | None = None
        self.failed_at: float | None = None  # seconds into the run of the first failure
        self.windows_judged = 0

    def judge_window(self, agg: Aggregate, at: float) -> bool:
        """Judge one full window ending ``at`` s into the run; False if it failed."""
        self.windows_judged += 1
        ok, actual = self.threshold.holds(agg)
        self._settle(ok, actual, at)
        return ok

    def _settle(self, ok: bool, actual: float | None, at: float) -> None:
        # report the latest figure while the rule holds, the first failing one once it fails
        if self.ok:
            self.actual = actual
            if not ok:
                self.ok, self.failed_at = False, at

    def judge_final(self, run_total: Aggregate, at: float) -> None:
        """The end of the run: a whole-run rule is judged on the total; a sustained rule no
        full window of which ever closed is judged on the whole run (a shorter window)."""
        if self.threshold.window is None or self.windows_judged == 0:
            ok, actual = self.threshold.holds(run_total)
            self._settle(ok, actual, at)

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.threshold.target,
            "threshold": self.threshold.expression,
            "ok": self.ok,
            "actual": self.actual,
            "failed_at_s": self.failed_at,
            "abort_on_fail": self.threshold.abort_on_fail,
            "origin": self.threshold.origin,
        }


class Judge:
    """Judges every threshold from the run's closed seconds, as they close.

    ``feed`` takes one closed second (the workflow's and the watched steps' aggregates) and
    returns why the run must abort, or None; ``finish`` settles the whole-run rules.
    """

    def __init__(self, thresholds: Sequence[LoadThreshold], workflow_name: str) -> None:
        self.states = [ThresholdState(t) for t in thresholds]
        self._workflow = workflow_name
        self._totals: dict[str, Aggregate] = {}
        self._windows: dict[tuple[str, float], deque[Aggregate]] = {}

    def _of(self, second: Second, target: str) -> Aggregate | None:
        return second.workflow if target == self._workflow else second.steps.get(target)

    def feed(self, second: Second, elapsed: float) -> str | None:
        for target in {s.threshold.target for s in self.states}:
            agg = self._of(second, target)
            if agg is not None:
                self._totals.setdefault(target, Aggregate()).__iadd__(agg)
        merged: dict[tuple[str, float], Aggregate] = {}
        for key in {(s.threshold.target, s.threshold.window) for s in self.states}:
            target, span = key
            if span is None:
                continue
            window = self._windows.setdefault((target, span), deque(maxlen=max(1, round(span))))
            window.append(self._of(second, target) or Aggregate())
            if len(window) == window.maxlen:
                total = Aggregate()
                for agg in window:
                    total += agg
                merged[(target, span)] = total
        abort = None
        for state in self.states:
            rule = state.threshold
            if rule.window is not None:
                if (rule.target, rule.window) not in merged:
                    continue  # no full window yet
                ok = state.judge_window(merged[(rule.target, rule.window)], elapsed)
            else:
                ok, _ = rule.holds(self._totals.get(rule.target, Aggregate()))
            if not ok and rule.abort_on_fail and elapsed >= rule.delay and abort is None:
                abort = f"threshold {rule.target}: {rule.expression} failed at {elapsed:.0f}s"
        return abort

    def finish(self, totals: Mapping[str, Aggregate], elapsed: float) -> None:
        """Settle the whole-run rules on ``totals`` (target -> the run's aggregate)."""
        for state in self.states:
            state.judge_final(totals.get(state.threshold.target, Aggregate()), elapsed)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.states)
