"""Each workflow's latency distribution against a baseline run: regressed, improved or unchanged.

The samples are those of the workflow's HDR aggregate (every run, at the histogram's
three significant digits). The test is Mann-Whitney U (scipy), two-sided, with Cliff's
delta as effect size. A shared, noisy machine shifts latencies a little between two
healthy runs, and with hundreds of samples even a small shift is "significant"; so a
change is called only when all three hold:

    p < ALPHA (0.01)                      it is unlikely to be chance
    |delta| >= MIN_DELTA (0.474)          a large effect (Romano et al.): most pairs moved
    |median shift| >= max(MIN_RATIO of    a shift a user would notice, above the noise
      the baseline median, MIN_SHIFT_MS)  floor of a busy 2-core machine

Fewer than MIN_RUNS runs on either side gives "insufficient data", never "unchanged".
The baseline is ``<artifacts>/baseline/slo.json`` (a copy of a run's ``slo.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, final

from hdrh.histogram import HdrHistogram

from interlock.errors import DependencyError
from interlock.slo.aggregate import Aggregate

__all__ = [
    "BASELINE_DIR",
    "REGRESSIONS_FILE",
    "Comparison",
    "baseline_path",
    "compare",
    "compare_documents",
    "samples",
    "write_comparisons",
]

BASELINE_DIR: Final = "baseline"
REGRESSIONS_FILE: Final = "regressions.json"
ALPHA: Final = 0.01
MIN_DELTA: Final = 0.474
MIN_RATIO: Final = 0.25
MIN_SHIFT_MS: Final = 20.0
MIN_RUNS: Final = 8


def baseline_path(artifacts: Path) -> Path:
    """Where the baseline's ``slo.json`` lives for runs in ``artifacts``."""
    return artifacts / BASELINE_DIR / "slo.json"


def samples(aggregate: Aggregate) -> list[float]:
    """The aggregate's durations (ms) as the histogram holds them, ascending."""
    encoded = aggregate.to_dict()["hdr"]
    if not encoded:
        return []
    hist = HdrHistogram.decode(encoded.encode("ascii"))
    values: list[float] = []
    for item in hist.get_recorded_iterator():
        edge = item.value_iterated_to  # the middle of the bucket the values fell in
        low, high = hist.get_lowest_equivalent_value(edge), hist.get_highest_equivalent_value(edge)
        value = (low + high) / 2 / 1000
        value = min(max(value, aggregate.min_ms), aggregate.max_ms)
        values.extend([value] * int(item.count_added_in_this_iter_step))
    return values


@final
@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One workflow: ``verdict`` regressed, improved, unchanged, insufficient data, new or gone."""

    workflow: str
    verdict: str
    base_runs: int = 0
    runs: int = 0
    base_median_ms: float | None = None
    median_ms: float | None = None
    p_value: float | None = None
    #: Cliff's delta: P(now > before) - P(now < before), -1..1; positive is slower now
    delta: float | None = None

    def describe(self) -> str:
        if self.verdict in ("new", "gone"):
            missing = "the baseline" if self.verdict == "new" else "this run"
            return f"{self.workflow}: {self.verdict} (not in {missing})"
        if self.p_value is None:
            return (
                f"{self.workflow}: {self.verdict} "
                f"({self.base_runs} vs {self.runs} runs; {MIN_RUNS} needed)"
            )
        return (
            f"{self.workflow}: {self.verdict} (median {self.base_median_ms:.1f} -> "
            f"{self.median_ms:.1f} ms, Cliff's delta {self.delta:+.2f}, p={self.p_value:.2g})"
        )


def _median(values: Sequence[float]) -> float:
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def compare(name: str, before: Aggregate, now: Aggregate) -> Comparison:
    """Judge ``now`` against ``before``; raises DependencyError without scipy."""
    try:
        from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]
    except ImportError as exc:
        raise DependencyError(
            f"comparing with a baseline needs scipy ({exc})",
            hint="pip install 'interlock[report]'",
        ) from None
    if before.runs < MIN_RUNS or now.runs < MIN_RUNS:
        return Comparison(
            workflow=name, verdict="insufficient data", base_runs=before.runs, runs=now.runs
        )
    a, b = samples(before), samples(now)
    result = mannwhitneyu(b, a, alternative="two-sided")
    u = float(result.statistic)
    delta = 2 * u / (len(a) * len(b)) - 1  # U counts pairs where now > before (ties half)
    base_median, median = _median(a), _median(b)
    shift = median - base_median
    noticeable = abs(shift) >= max(MIN_RATIO * base_median, MIN_SHIFT_MS)
    changed = float(result.pvalue) < ALPHA and abs(delta) >= MIN_DELTA and noticeable
    verdict = "unchanged" if not changed else ("regressed" if shift > 0 else "improved")
    return Comparison(
        workflow=name,
        verdict=verdict,
        base_runs=before.runs,
        runs=now.runs,
        base_median_ms=base_median,
        median_ms=median,
        p_value=float(result.pvalue),
        delta=delta,
    )


def _ran(aggregates: dict[str, Aggregate]) -> dict[str, Aggregate]:
    return {name: agg for name, agg in aggregates.items() if agg.runs > 0}


def _aggregates(document: Mapping[str, Any]) -> dict[str, Aggregate]:
    try:
        return {str(w["name"]): Aggregate.from_dict(w["aggregate"]) for w in document["workflows"]}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an slo.json Interlock wrote: {exc}") from None


def compare_documents(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[Comparison]:
    """Every workflow with runs in either ``slo.json`` document; raises ValueError on a
    malformed one. A workflow listed without runs (declared, no data) is absent there:
    it is not "new" where it never ran."""
    before, now = _ran(_aggregates(baseline)), _ran(_aggregates(current))
    results = []
    for name in sorted(set(before) | set(now)):
        if name not in before:
            results.append(Comparison(workflow=name, verdict="new", runs=now[name].runs))
        elif name not in now:
            results.append(Comparison(workflow=name, verdict="gone", base_runs=before[name].runs))
        else:
            results.append(compare(name, before[name], now[name]))
    return results


def write_comparisons(comparisons: list[Comparison], baseline: Path, path: Path) -> None:
    """``regressions.json``: each comparison, a summary line and the lines the HTML lists."""
    regressed = [c.workflow for c in comparisons if c.verdict == "regressed"]
    document = {
        "baseline": str(baseline),
        "regressed": regressed,
        "summary": f"{len(regressed)} of {len(comparisons)} workflows regressed against {baseline}",
        "lines": [c.describe() for c in comparisons],
        "comparisons": [asdict(c) for c in comparisons],
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
