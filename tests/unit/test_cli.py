"""The interlock command as a user runs it: errors, env up and teardown after signals."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from interlock.config import load_config
from interlock.helpers.deadline import poll
from interlock.stack import Stack, orphans, wait_until

# the project these commands run on: WMS, the system in this repository
ROOT = Path(__file__).resolve().parents[2] / "apps" / "wms"


def interlock(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interlock.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("interlock")]
    assert len(error) == 1, result.stderr
    for fragment in fragments:
        assert fragment in error[0]


def test_unreachable_database_exits_2_with_one_line(tmp_path):
    result = interlock(
        "run",
        env={
            "INTERLOCK_DATABASE_URL": "postgresql://u@127.0.0.1:1/x",
            "INTERLOCK_ARTIFACTS": str(tmp_path),
        },
    )
    assert_one_line_error(result, "PostgreSQL", "127.0.0.1:1", "INTERLOCK_DATABASE_URL")


def test_unknown_suite_exits_2():
    assert_one_line_error(interlock("run", "smoke"), "no such file or suite: 'smoke'", "business")


def test_doctor_without_configuration_says_so_and_creates_nothing(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    result = interlock("doctor", cwd=tmp_path)
    assert_one_line_error(result, "no [tool.interlock]", str(tmp_path / "pyproject.toml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


@pytest.mark.parametrize("command", ["env", "faults"])
def test_a_command_without_its_action_prints_its_own_help(command):
    result = interlock(command)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: interlock {command} ")
    assert "COMMAND" not in result.stderr  # not the top-level help


def test_arguments_for_pytest_go_only_with_run():
    result = interlock("doctor", "--", "-x")
    assert result.returncode == 2
    assert "only 'interlock run' runs it" in result.stderr


def test_malformed_configuration_exits_2(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.interlock]\nperformance_threshold = 'high'\n")
    result = interlock("doctor", cwd=tmp_path)
    assert_one_line_error(result, "performance_threshold must be a number")


def test_missing_app_binary_exits_2(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.interlock]\ntests = "tests"\n[tool.interlock.app]\ncommand = ["no-such-server"]\n'
    )
    result = interlock("run", cwd=tmp_path)
    assert_one_line_error(result, "'no-such-server' is not on PATH")


def test_bad_simulator_fault_exits_2():
    assert_one_line_error(
        interlock("run", "--sim-fault", "stripe:explode"), "unknown fault kind 'explode'"
    )


def test_doctor_passes_on_this_machine():
    result = interlock("doctor")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok    postgres") for line in lines)
    assert lines[-1].endswith("checks passed")


def test_doctor_reports_an_unreachable_redis_with_its_fix():
    result = interlock("doctor", env={"INTERLOCK_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 1
    assert "FAIL  redis" in result.stdout
    assert "fix:" in result.stdout


def env_up(tmp_path: Path, *args: str, cwd: Path = ROOT) -> tuple[subprocess.Popen[str], Path]:
    """``interlock env up --json ARGS``, and the file its stderr goes to (for ``first_line``)."""
    err = tmp_path / f"env-up-{secrets.token_hex(4)}.err"
    with err.open("w") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "interlock.cli", "env", "up", "--json", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "INTERLOCK_ARTIFACTS": str(tmp_path / "runs")},
        )
    return process, err


def first_line(process: subprocess.Popen[str], err: Path) -> dict[str, Any]:
    """The JSON line env up prints once the stack is up; fails showing its stderr otherwise."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        code = process.wait(timeout=30)
        pytest.fail(f"env up exited {code} before printing; its stderr:\n{err.read_text()}")
    info: dict[str, Any] = json.loads(line)
    return info


def _family(pid: int) -> list[psutil.Process]:
    try:
        return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _all_gone(processes: list[psutil.Process], timeout: float) -> bool:
    def gone() -> bool:
        return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in processes)

    return wait_until(gone, timeout=timeout)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_env_up_prints_json_and_leaves_nothing_after_a_signal(tmp_path, signum):
    process, err = env_up(tmp_path)
    with process:
        try:
            info = first_line(process, err)
            assert {"postgres", "redis", "app", "simulators", "faults"} <= set(info)
            assert httpx.get(info["app"] + "/health/ready").status_code == 200
            family = _family(process.pid)
            assert len(family) >= 5  # the CLI, postgres, redis, simulators, the app
            process.send_signal(signum)
            assert process.wait(timeout=10) == 130, err.read_text()
            assert _all_gone(family, timeout=5), [p for p in family if p.is_running()]
        finally:
            if process.poll() is None:
                process.kill()


def _tagged_by(pid: int) -> list[psutil.Process]:
    """Processes a stack started for the process ``pid`` (they carry its owner tag)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(orphans.ENV, "").startswith(f"{pid}:"):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_a_signal_while_env_up_starts_exits_130_and_leaves_nothing(tmp_path):
    process, err = env_up(tmp_path)
    with process:
        try:
            # the stack is starting once its first process is: log files appear then;
            # it stops once whole, so that nothing half-started is left behind
            poll(lambda: any((tmp_path / "runs").glob("*/logs/*.log")), timeout=60, what="a log")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 130, err.read_text()
            assert process.stdout is not None
            assert process.stdout.read() == ""  # no addresses of a stack that is not up
        finally:
            if process.poll() is None:
                process.kill()
    assert _all_gone(_tagged_by(process.pid), timeout=5)
    assert not list(Path("/dev/shm").glob(f"interlock-{process.pid}-*"))
    assert list((ROOT / ".interlock" / "env").glob(f"{process.pid}.json")) == []


def test_after_sigkill_the_next_stack_removes_the_orphans(tmp_path):
    process, err = env_up(tmp_path, "--no-app")
    with process:
        first_line(process, err)
        family = _family(process.pid)
        workdirs = list(Path("/dev/shm").glob(f"interlock-{process.pid}-*"))
        assert workdirs
        process.kill()
    with Stack(load_config(ROOT), run_dir=tmp_path / "next", with_app=False) as stack:
        assert stack.postgres_url
        assert _all_gone(family, timeout=5)
        assert not any(w.exists() for w in workdirs)


@pytest.mark.integration_timeout(300_000)  # a whole run: stack, app, a suite with retries
def test_stripe_failing_every_call_turns_the_business_suite_red_naming_onboarding(tmp_path):
    result = interlock(
        "run",
        "business",
        "--sim-fault",
        "stripe:status=500",
        "--",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "onboarding",
        env={"INTERLOCK_ARTIFACTS": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "SLO breach: onboarding: rate>=0.95" in result.stdout
    (run_dir,) = tmp_path.iterdir()
    slo = json.loads((run_dir / "slo.json").read_text())
    assert {w["name"]: w["ok"] for w in slo["workflows"]} == {"onboarding": False}
    junit = (run_dir / "junit.xml").read_text()
    assert 'name="interlock.slo"' in junit
    # one logs/ folder a stack: the run folder's own, or each xdist worker's (gw0/logs)
    folders = sorted(run_dir.glob("gw*/logs")) or [run_dir / "logs"]
    assert {p.name for p in folders[0].iterdir()} >= {
        "postgres.log",
        "redis.log",
        "simulators.log",
        "app.log",
    }


def test_seed_data_the_simulator_refuses_exits_2_before_anything_starts(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.interlock]\ntests = "tests"\nsimulators = ["twilio"]\n'
        "[tool.interlock.seed_data.twilio]\nstatus_delay = -1\n"
    )
    result = interlock("env", "up", "--no-app", cwd=tmp_path)
    assert_one_line_error(result, "[tool.interlock.seed_data.twilio]", "status_delay")


VICTIM = """\
import os, subprocess, sys
# a process another tool started: mirakuru's mark holds our pid only as a substring
victim = subprocess.Popen(
    ["sleep", "120"],
    env={**os.environ, "mirakuru_uuid": f"9{os.getpid()}:not-ours"},
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
print(victim.pid, flush=True)
os.execv(sys.executable, [sys.executable, "-m", "interlock.cli", *sys.argv[1:]])
"""


@pytest.mark.parametrize(
    "command", [("doctor",), ("faults", "list"), ("sims", "--host", "x.invalid")]
)
def test_the_cli_leaves_processes_it_did_not_start_alone_when_it_exits(command):
    """A process manager's exit hook that kills by a pid-substring mark (mirakuru's did)
    must never reach another tool's processes: Interlock manages its own, by ownership."""
    result = subprocess.run(
        [sys.executable, "-c", VICTIM, *command],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    victim = psutil.Process(int(result.stdout.splitlines()[0]))
    try:
        assert victim.is_running(), result.stderr
        assert victim.status() != psutil.STATUS_ZOMBIE, result.stderr
    finally:
        victim.kill()
