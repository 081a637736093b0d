"""An interrupt of ``interlock run`` at any moment: one line naming the signal, exit 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# an app that never becomes healthy: the run is still starting its stack when signalled
SLOW_APP = """\
    [tool.interlock]
    tests = "tests"
    postgres = false
    redis = false
    simulators = ["stripe"]
    [tool.interlock.app]
    command = ["{python}", "-c", "import time; time.sleep(120)"]
    health = "/healthz"
    ready_timeout = 120
"""
LAST_LINE = {
    signal.SIGINT: "interlock: interrupted (Ctrl-C)",
    signal.SIGTERM: "interlock: terminated (SIGTERM)",
}


def signalled_run(tmp_path: Path, signum: int, when: str) -> tuple[int, str]:
    """Run ``interlock run``, send ``signum`` on the first output line holding ``when``."""
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(SLOW_APP))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("def test_up(api):\n    assert api\n")
    return signalled(tmp_path, ["run"], signum, when)


def signalled(root: Path, argv: list[str], signum: int, when: str) -> tuple[int, str]:
    """Run ``interlock ARGV`` in ``root``; send ``signum`` on the first line holding ``when``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", *argv],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if when in line:
            process.send_signal(signum)
            break
    rest, _ = process.communicate(timeout=120)
    return process.returncode, "".join(seen) + rest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(
    "when",
    [
        "artifacts in",  # the parent has just started pytest, which is still importing
        "Redis: disabled",  # the stack is starting (the app never becomes healthy)
    ],
)
def test_an_interrupt_is_one_line_naming_its_signal(tmp_path, signum, when):
    code, output = signalled_run(tmp_path, signum, when)
    assert code == 130, output
    assert "Traceback" not in output
    assert output.rstrip().splitlines()[-1] == LAST_LINE[signum], output
    if signum == signal.SIGTERM:
        assert "KeyboardInterrupt" not in output


#: a session fixture whose teardown fails, as a check made after a test's work does
#: when that work was cut short
FAILS_AFTER = """
import pytest

from interlock.helpers.deadline import poll


@pytest.fixture(scope="session")
def checked_after():
    yield
    raise AssertionError("checked after the work, which never finished")


def test_waits(checked_after):
    print("waiting-now", flush=True)
    poll(lambda: None, timeout=120, what="an interrupt")
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_teardown_failing_after_the_interrupt_is_one_line_too(tmp_path, signum):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.interlock]\ntests = "tests"\npostgres = false\nredis = false\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_waits.py").write_text(FAILS_AFTER)
    # serial: an xdist worker's -s output does not reach the terminal
    code, output = signalled(tmp_path, ["run", "-n", "0", "--", "-s"], signum, "waiting-now")
    assert code == 130, output
    assert "Traceback" not in output
    lines = output.rstrip().splitlines()
    assert lines[-1] == LAST_LINE[signum], output
    assert any("checked after the work" in line for line in lines), output
