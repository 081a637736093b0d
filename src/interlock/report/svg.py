"""Small inline SVG line charts for the HTML report: no script, no external file."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

__all__ = ["line_chart"]

_W: Final = 560
_H: Final = 200
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 56, 90, 12, 28
COLOURS: Final = ("#2b6cb0", "#d69e2e", "#c53030", "#2f855a", "#6b46c1")


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    step = 1.0
    while step < value:
        for factor in (2, 2.5, 2):
            step *= factor
            if step >= value:
                break
    return step


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    unit: str = "ms",
) -> str:
    """An ``<svg>`` with one line per series over ``labels`` (x); a None is a gap.

    Each point carries a ``<title>`` (its label and value) that a browser shows on hover.
    Raises ValueError if a series does not have one value per label.
    """
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    known = [v for values in series.values() for v in values if v is not None]
    top = _nice_ceiling(max(known, default=1.0))
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    n = len(labels)

    def x(i: int) -> float:
        return _PAD_L + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _PAD_T + plot_h * (1 - v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{_PAD_L}" y1="{_PAD_T + plot_h}" x2="{_PAD_L + plot_w}" '
        f'y2="{_PAD_T + plot_h}" stroke="#888"/>',
        f'<line x1="{_PAD_L}" y1="{_PAD_T}" x2="{_PAD_L}" y2="{_PAD_T + plot_h}" stroke="#888"/>',
    ]
    for fraction in (0, 0.5, 1):
        value = top * fraction
        parts.append(
            f'<text x="{_PAD_L - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{value:g} {unit}</text>'
        )
    for i, label in enumerate(labels):
        if n <= 8 or i in (0, n - 1):
            parts.append(
                f'<text x="{x(i):.1f}" y="{_H - 8}" text-anchor="middle" font-size="10">'
                f"{escape(label[-15:])}</text>"
            )
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = [(x(i), y(v), v, labels[i]) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
            parts.append(
                f'<polyline class="series" data-series="{escape(name)}" fill="none" '
                f'stroke="{colour}" stroke-width="2" points="{path}"/>'
            )
        for px, py, v, label in points:
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {escape(label)}: {v:g} {unit}</title></circle>"
            )
        parts.append(
            f'<text x="{_W - _PAD_R + 8}" y="{_PAD_T + 14 * (k + 1)}" font-size="11" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
