"""CPU and memory of the host and of watched process trees."""

from __future__ import annotations

import os
import subprocess
import sys

from interlock.monitor.system import SystemSampler


def test_sampler_reports_the_host_and_each_watched_tree_with_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        sampler = SystemSampler({"tests": os.getpid(), "gone": 2**22 + 4321})
        usages = {u.source: u for u in sampler.sample()}
        assert set(usages) == {"host", "tests"}  # a tree that is not running is left out
        host, tests = usages["host"], usages["tests"]
        assert 0 <= host.memory <= 100
        assert 0 <= tests.memory <= 100
        alone = SystemSampler({"tests": child.pid}).sample()[1]
        assert tests.rss_mb > alone.rss_mb > 0  # the tree counts this process and the child
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
