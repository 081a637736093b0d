"""The monitor's state as one JSON document: what the dashboards draw and the API returns.

Shape::

    {"at": unix_s, "interval": s, "taken": n,
     "probes": [{"name", "kind", "target", "status": "up"|"down"|"unknown", "ok",
                 "latency_ms", "error", "checked_at", "success_rate", "p95_ms",
                 "depends_on", "metrics": {name: number},
                 "points": [[at, latency_ms, ok], ...]}],
     "alerts": {"open": [alert...], "ended": [alert...]},
     "system": [{"source", "cpu", "memory", "rss_mb"}],
     "faults": [{"proxy", "fault"}]}
"""

from __future__ import annotations

import time
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interlock.monitor.runner import Monitor

__all__ = ["snapshot"]

#: points per probe sent for the charts
POINTS = 120


def snapshot(monitor: Monitor) -> dict[str, Any]:
    """See the module docstring."""
    now = time.time()
    config = monitor.config
    probes = []
    for name, state in monitor.probes.items():
        last = state.last
        points = list(islice(reversed(state.samples), POINTS))[::-1]
        probes.append(
            {
                "name": name,
                "kind": state.spec.kind,
                "target": state.spec.target,
                "status": state.status,
                "ok": last.ok if last else None,
                "latency_ms": round(last.latency_ms, 2) if last else None,
                "error": last.error if last else None,
                "checked_at": state.checked_at or None,
                "success_rate": state.success_rate(now, config.window, outages=True),
                "p95_ms": state.p95(now, config.window),
                "depends_on": list(state.spec.depends_on),
                "metrics": dict(last.metrics) if last else {},
                "points": [[s.at, round(s.latency_ms, 2), s.ok] for s, _ in points],
            }
        )
    return {
        "at": now,
        "interval": config.interval,
        "taken": monitor.taken,
        "probes": probes,
        "alerts": {
            "open": [alert.to_dict() for alert in monitor.engine.open.values()],
            "ended": [alert.to_dict() for alert in monitor.engine.ended[-20:]][::-1],
        },
        "system": [
            {
                "source": u.source,
                "cpu": round(u.cpu, 1),
                "memory": round(u.memory, 1),
                "rss_mb": round(u.rss_mb, 1),
            }
            for u in monitor.system
        ],
        "faults": monitor.faults,
    }
