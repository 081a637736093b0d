"""Prometheus exposition of the monitor's state (``prometheus_client``), read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from interlock.monitor.runner import Monitor

__all__ = ["CONTENT_TYPE", "exposition"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@final
class _MonitorCollector(Collector):
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        monitor = self.monitor
        now = time.time()
        window = monitor.config.window
        up = GaugeMetricFamily(
            "interlock_monitor_probe_up", "1 when the probe is up, else 0", labels=["probe", "kind"]
        )
        checks = CounterMetricFamily(
            "interlock_monitor_probe_checks", "checks made, by result", labels=["probe", "result"]
        )
        success = GaugeMetricFamily(
            "interlock_monitor_probe_success_ratio",
            f"share of successful checks over the last {window:g} s",
            labels=["probe"],
        )
        latency = GaugeMetricFamily(
            "interlock_monitor_probe_latency_seconds",
            "duration of the last check",
            labels=["probe"],
        )
        p95 = GaugeMetricFamily(
            "interlock_monitor_probe_latency_p95_seconds",
            f"p95 duration of successful checks over the last {window:g} s",
            labels=["probe"],
        )
        values = GaugeMetricFamily(
            "interlock_monitor_probe_value",
            "numbers the target reports (mapped by configuration)",
            labels=["probe", "metric"],
        )
        for name, state in monitor.probes.items():
            up.add_metric([name, state.spec.kind], 1.0 if state.status == "up" else 0.0)
            checks.add_metric([name, "ok"], state.ok_total)
            checks.add_metric([name, "failed"], state.failed_total)
            windowed = state.window(now, window, outages=True)
            if windowed:
                success.add_metric([name], sum(s.ok for s in windowed) / len(windowed))
            if state.last is not None:
                latency.add_metric([name], state.last.latency_ms / 1000)
                for metric, value in state.last.metrics.items():
                    values.add_metric([name, metric], value)
            slow = state.p95(now, window)
            if slow is not None:
                p95.add_metric([name], slow / 1000)
        yield from (up, checks, success, latency, p95, values)
        firing = GaugeMetricFamily(
            "interlock_monitor_alerts", "open alerts, by state", labels=["state"]
        )
        for state_name in ("pending", "suppressed", "firing"):
            count = sum(a.state == state_name for a in monitor.engine.open.values())
            firing.add_metric([state_name], count)
        yield firing
        cpu = GaugeMetricFamily("interlock_monitor_cpu_percent", "CPU busy", labels=["source"])
        memory = GaugeMetricFamily(
            "interlock_monitor_memory_percent", "memory in use", labels=["source"]
        )
        for usage in monitor.system:
            cpu.add_metric([usage.source], usage.cpu)
            memory.add_metric([usage.source], usage.memory)
        yield from (cpu, memory)


def exposition(monitor: Monitor) -> bytes:
    """The monitor's metrics in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_MonitorCollector(monitor))
    return generate_latest(registry)
