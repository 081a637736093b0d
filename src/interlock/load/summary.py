"""A load run as text: the live progress line and the end-of-run summary (in k6's manner)."""

from __future__ import annotations

from typing import Any

from interlock.load.result import LoadResult
from interlock.slo.aggregate import Aggregate
from interlock.suggest import nearest

__all__ = ["progress_line", "summary"]


def progress_line(point: dict[str, Any], *, shards: int = 1) -> str:
    """One line a second: iterations and requests in that second, its p95, errors, drops."""
    where = f" over {shards} shards" if shards > 1 else ""
    return (
        f"{point['t']:>5}s  {point['started']:>7} it/s  {point['requests']:>7} req/s  "
        f"p95 {point['p95_ms']:>9.1f} ms  errors {point['iteration_failures']:>5}  "
        f"dropped {point['dropped']:>5}  vus {point['vus']:>4}{where}"
    )


def _dots(label: str, width: int) -> str:
    return (label + " ").ljust(width, ".") + ":"


def _figures(agg: Aggregate) -> str:
    return (
        f"avg={agg.avg:.2f}ms min={agg.min:.2f}ms med={agg.med:.2f}ms "
        f"p(90)={agg.percentile(90):.2f}ms p(95)={agg.percentile(95):.2f}ms "
        f"p(99)={agg.percentile(99):.2f}ms max={agg.max:.2f}ms "
        f"count={agg.count} failed={100 * (1 - agg.rate) if agg.count else 0:.2f}%"
    )


def summary(result: LoadResult) -> str:
    """The end-of-run summary: thresholds (✓/✗), checks, iterations, each figure."""
    lines = [
        f"  scenario: {result.scenario}  executor: {result.executor} ({result.plan})",
        f"  target:   {result.target}"
        + (f"  shards: {result.shards}" if result.shards > 1 else ""),
        "",
    ]
    for verdict in result.thresholds:
        mark = "✓" if verdict["ok"] else "✗"
        actual = verdict["actual"]
        shown = "no runs" if actual is None else f"{actual:.3f}".rstrip("0").rstrip(".")
        origin = verdict.get("origin")
        why = f"; {origin}" if origin else ""
        target = str(verdict["target"])
        if actual is None and target != result.scenario and target not in result.steps:
            why += f"; no step named {target!r}{_nearest(target, list(result.steps))}"
        lines.append(f"  {mark} {verdict['target']}: {verdict['threshold']} (was {shown}{why})")
    if result.thresholds:
        lines.append("")
    width = max([len(n) for n in (*result.steps, result.scenario)] + [20]) + 4
    if result.checks:
        passes = sum(p for p, _ in result.checks.values())
        fails = sum(f for _, f in result.checks.values())
        share = 100 * passes / (passes + fails) if passes + fails else 0.0
        lines.append(f"  {_dots('checks', width)} {share:.2f}% ✓ {passes} ✗ {fails}")
        for name, (p, f) in sorted(result.checks.items()):
            lines.append(f"    {'✓' if not f else '✗'} {name}: {p} passed, {f} failed")
    lines.append(
        f"  {_dots('iterations', width)} {result.started} started "
        f"({result.iteration_rate:.1f}/s), {result.dropped} dropped, "
        f"{result.interrupted} interrupted, in {result.elapsed:.1f}s"
    )
    lines.append(f"  {_dots(result.scenario, width)} {_figures(result.workflow)}")
    for name, agg in sorted(result.steps.items()):
        lines.append(f"  {_dots(name, width)} {_figures(agg)}")
    for name, agg in [(result.scenario, result.workflow), *sorted(result.steps.items())]:
        for kind, count in agg.errors.most_common(3):
            lines.append(f"    {name} error {kind}: {count}")
            message = result.error_messages.get(kind)
            if message is not None:
                lines.append(f"      first: {message}")
    if result.aborted:
        lines.append(f"\n  aborted: {result.aborted}")
    lines.append("\n  " + ("PASS" if result.ok else "FAIL"))
    return "\n".join(lines)


def _nearest(name: str, steps: list[str]) -> str:
    close = nearest(name, steps)
    return (
        f": did you mean {close!r}?" if close else f" (steps: {', '.join(sorted(steps)) or 'none'})"
    )
