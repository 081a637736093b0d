"""``/metrics``: Prometheus text format with per-probe success and latency."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.monitor.support import MonitorProcess, Target, write_project

from interlock.helpers.deadline import poll


def test_metrics_answer_in_prometheus_format_per_probe(tmp_path: Path, target: Target) -> None:
    target.failing["down"] = True
    project = write_project(
        tmp_path,
        f"""interval = 0.1
[tool.interlock.monitor.probes.web]
type = "http"
url = "{target.url}/health/web"
metrics = {{ backlog = "$.backlog" }}
[tool.interlock.monitor.probes.down]
type = "http"
url = "{target.url}/health/down"
""",
    )
    with MonitorProcess(project) as monitor:
        poll(lambda: target.hits.get("web", 0) >= 3, timeout=10, what="three checks")
        monitor.wait_status("down", "down")
        response = httpx.get(monitor.url + "metrics", timeout=5)
        assert monitor.stop() == 0
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(f"interlock_monitor_{name}", tuple(sorted(labels.items())))]

    assert value("probe_up", probe="web", kind="http") == 1
    assert value("probe_up", probe="down", kind="http") == 0
    assert value("probe_success_ratio", probe="web") == 1
    assert value("probe_success_ratio", probe="down") == 0
    assert 0 < value("probe_latency_seconds", probe="web") < 10
    assert value("probe_checks_total", probe="web", result="ok") >= 3
    assert value("probe_checks_total", probe="down", result="failed") >= 1
    assert value("probe_value", probe="web", metric="backlog") == 3
