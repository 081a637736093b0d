"""Health monitor: probes, alerts, history, a live dashboard and Prometheus /metrics.

Public names: ``Monitor`` (one run), ``MonitorConfig`` / ``parse_monitor_config`` (its
configuration, ``[tool.interlock.monitor]``), ``Sample`` (one check), ``History`` (the
SQLite store) and ``DashboardServer`` (dashboard, SSE, /metrics).
"""

from __future__ import annotations

from interlock.monitor.config import MonitorConfig, ProbeSpec, parse_monitor_config
from interlock.monitor.history import History
from interlock.monitor.probes import Sample
from interlock.monitor.runner import Monitor
from interlock.monitor.web import DashboardServer

__all__ = [
    "DashboardServer",
    "History",
    "Monitor",
    "MonitorConfig",
    "ProbeSpec",
    "Sample",
    "parse_monitor_config",
]
