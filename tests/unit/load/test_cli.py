"""``python -m interlock.load``: exit 0 / 1 / 2, one line for bad input, load.json written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from interlock.load.__main__ import main

from .conftest import Target

SCENARIO = """
name = "ping"

async def workflow(session):
    r = await session.get("/")
    session.check(r, {"status 200": lambda r: r.status == 200})
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.py"
    path.write_text(SCENARIO)
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--executor", "warp-speed"], "unknown executor 'warp-speed'"),
        (["--executor", "constant-arrival-rate", "--rate", "-5"], "--rate must be > 0"),
        (["--duration", "soon"], "bad duration 'soon'"),
        (["--threshold", "p95 < 3"], "bad threshold"),
        (["--executor", "ramping-vus"], "at least one stage"),
        # an option the executor does not take is refused (k6 refuses it too), not ignored
        (["--rate", "10"], "--rate does not apply to the constant-vus executor"),
        (
            ["--executor", "constant-arrival-rate", "--rate", "5", "--iterations", "3"],
            "--iterations does not apply to the constant-arrival-rate executor",
        ),
        (["--executor", "per-vu-iterations", "--stages", "5s:3"], "--stages does not apply"),
        (["--executor", "ramping-vus", "--stages", "5s:3", "--duration", "5s"], "--duration"),
        (["--max-vus", "9"], "--max-vus does not apply to the constant-vus executor"),
    ],
)
def test_bad_options_print_one_line_and_exit_2(
    argv: list[str],
    message: str,
    scenario: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    code = main([str(scenario), "--target", "http://127.0.0.1:1", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert not out.exists()  # nothing half-written


def test_a_scenario_that_does_not_import_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n")
    assert main([str(broken), "--target", "http://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "does not import: ModuleNotFoundError" in err
    assert err.count("\n") == 1


def test_a_target_that_refuses_is_one_line(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(scenario), "--target", "http://127.0.0.1:1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err == "interlock load: target http://127.0.0.1:1 refuses connections: Connection refused\n"
    )


def test_a_breached_threshold_exits_1_with_the_results_written(
    scenario: Path, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = [str(scenario), "--target", target.url, "--out", str(out), "--quiet"]
    argv += ["--executor", "per-vu-iterations", "--vus", "2", "--iterations", "5"]
    code = main([*argv, "--threshold", "count>100", "--threshold", "GET /:rate>=0.99"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "✗ ping: count>100 (was 10)" in printed
    assert "✓ GET /: rate>=0.99" in printed
    data = json.loads((out / "load.json").read_text())
    assert data["ok"] is False
    assert data["iterations"]["started"] == 10
    assert data["checks"] == {"status 200": {"passes": 10, "fails": 0}}


def test_a_threshold_on_a_step_that_never_ran_says_so_not_0(
    scenario: Path, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(scenario), "--target", target.url, "--out", str(tmp_path / "run"), "--quiet"]
    argv += ["--executor", "per-vu-iterations", "--vus", "1", "--iterations", "2"]
    code = main([*argv, "--threshold", "GET/:p(95)<100"])
    printed = capsys.readouterr().out
    assert code == 1  # no data is no pass
    assert "✗ GET/: p(95)<100 (was no runs; no step named 'GET/': did you mean 'GET /'?)" in printed
    verdict = json.loads((tmp_path / "run" / "load.json").read_text())["thresholds"][0]
    assert (verdict["ok"], verdict["actual"]) == (False, None)


def test_the_module_runs_a_passing_scenario_with_live_progress(
    scenario: Path, target: Target, tmp_path: Path
) -> None:
    argv = [sys.executable, "-m", "interlock.load", str(scenario), "--target", target.url]
    argv += ["--executor", "constant-arrival-rate", "--rate", "50", "--duration", "2s"]
    argv += ["--threshold", "p(95)<5000", "--out", str(tmp_path)]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "✓ ping: p(95)<5000" in done.stdout
    assert "it/s" in done.stderr  # one progress line a second
    assert json.loads((tmp_path / "load.json").read_text())["ok"] is True


@pytest.mark.parametrize(("given", "expected"), [(None, 600.0), ("10s", 10.0), ("2m", 120.0)])
def test_per_vu_iterations_takes_its_longest_duration_from_the_option(
    given: str | None, expected: float
) -> None:
    import argparse

    from interlock.load.cli import build_executor, configure
    from interlock.load.executors import PerVUIterations

    parser = argparse.ArgumentParser()
    configure(parser)
    argv = ["s.py", "--executor", "per-vu-iterations", *(["--duration", given] if given else [])]
    executor = build_executor(parser.parse_args(argv))
    assert isinstance(executor, PerVUIterations)
    assert executor.max_duration == expected


def test_a_bad_configuration_fails_before_any_load(
    scenario: Path,
    target: Target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.interlock]\nartifacts = 5\n")
    monkeypatch.chdir(project)
    code = main([str(scenario), "--target", target.url, "--executor", "constant-vus"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1  # the error alone: no progress lines, no load ran
    assert "artifacts" in err


FAILING = """
name = "ping"
calls = 0

async def workflow(session):
    global calls
    calls += 1
    await session.get("/")
    if calls % 2:
        raise RuntimeError(f"order {calls} was not stored")
"""


def _failing_run(tmp_path: Path, target: Target, *extra: str) -> list[str]:
    scenario = tmp_path / "failing.py"
    scenario.write_text(FAILING)
    argv = [str(scenario), "--target", target.url, "--out", str(tmp_path / "run"), "--quiet"]
    return [*argv, "--executor", "per-vu-iterations", "--vus", "1", "--iterations", "10", *extra]


def test_without_thresholds_the_success_rate_gate_fails_the_run_and_says_so(
    tmp_path: Path,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no project here: the defaults apply
    monkeypatch.delenv("PERFORMANCE_THRESHOLD", raising=False)
    code = main(_failing_run(tmp_path, target))
    printed = capsys.readouterr().out
    assert code == 1
    assert (
        "✗ ping: rate>=0.95 (was 0.5; default: no thresholds given, performance_threshold 95 %)"
        in printed
    )
    assert "\n  FAIL\n" in printed
    data = json.loads((tmp_path / "run" / "load.json").read_text())
    assert data["ok"] is False
    [gate] = data["thresholds"]
    assert gate["origin"].startswith("default:")


def test_the_default_gate_is_the_projects_performance_threshold(
    tmp_path: Path,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERFORMANCE_THRESHOLD", "40")
    assert main(_failing_run(tmp_path, target)) == 0
    assert (
        "✓ ping: rate>=0.4 (was 0.5; default: no thresholds given, performance_threshold 40 %)"
        in (capsys.readouterr().out)
    )


def test_given_thresholds_replace_the_default_gate(
    tmp_path: Path, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_failing_run(tmp_path, target, "--threshold", "rate>=0.5")) == 0
    data = json.loads((tmp_path / "run" / "load.json").read_text())
    assert [(t["threshold"], t["origin"]) for t in data["thresholds"]] == [("rate>=0.5", None)]
    assert "default" not in capsys.readouterr().out


def test_the_summary_shows_the_first_message_of_each_error_kind(
    tmp_path: Path, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    main(_failing_run(tmp_path, target))
    printed = capsys.readouterr().out
    assert (
        "ping error RuntimeError: 5\n      first: RuntimeError: order 1 was not stored\n" in printed
    )
    data = json.loads((tmp_path / "run" / "load.json").read_text())
    assert data["error_messages"] == {"RuntimeError": "RuntimeError: order 1 was not stored"}
