"""The process watch: a process that exits on its own is named, one stopped on purpose is not."""

from __future__ import annotations

import sys

from interlock.helpers.deadline import poll
from interlock.stack.process import ManagedProcess
from interlock.stack.watch import ProcessWatch


def process(tmp_path, name: str, code: str) -> ManagedProcess:
    return ManagedProcess(
        name,
        [sys.executable, "-c", code],
        log_path=tmp_path / f"{name}.log",
        probe=lambda: True,
    )


def test_a_process_that_exits_on_its_own_is_named_with_its_code_and_last_lines(tmp_path):
    dying = process(
        tmp_path, "worker", "import sys; print('out of memory', flush=True); sys.exit(3)"
    )
    steady = process(tmp_path, "app", "import time; time.sleep(60)")
    for each in (dying, steady):
        each.start()
    try:
        with ProcessWatch({"worker": dying, "app": steady}, interval=0.02) as watch:
            (gone,) = poll(lambda: watch.check() or None, timeout=10, what="the worker's exit")
        assert (gone.name, gone.code) == ("worker", 3)
        text = gone.describe()
        assert text.startswith("worker exited with code 3 at ")
        assert "out of memory" in text
    finally:
        for each in (dying, steady):
            each.stop()


def test_a_process_stopped_or_killed_on_purpose_is_not_a_crash(tmp_path):
    killed = process(tmp_path, "redis", "import time; time.sleep(60)")
    stopped = process(tmp_path, "app", "import time; time.sleep(60)")
    for each in (killed, stopped):
        each.start()
    killed.kill()
    stopped.stop()
    with ProcessWatch({"redis": killed, "app": stopped}, interval=0.02) as watch:
        assert watch.check() == []


def test_a_process_that_is_back_up_is_no_longer_reported(tmp_path):
    flaky = process(tmp_path, "worker", "import sys; sys.exit(1)")
    flaky.start()
    try:
        watch = ProcessWatch({"worker": flaky})
        poll(lambda: watch.check() or None, timeout=10, what="the worker's exit")
        flaky.command = [sys.executable, "-c", "import time; time.sleep(60)"]
        flaky.restart()
        assert watch.check() == []
    finally:
        flaky.stop()
