"""``interlock run`` in a project of its own: suites, options, exit statuses, artifacts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.unit.test_cli import assert_one_line_error, interlock

from interlock.helpers.deadline import poll

PROJECT = """\
[tool.interlock]
tests = "tests"
artifacts = "runs"
postgres = false
redis = false

[tool.interlock.suites]
smoke = "smoke"
contracts = ["tests/contracts"]

[tool.pytest.ini_options]
filterwarnings = ["error"]
markers = ["smoke: quick checks"]
"""


def project(tmp_path: Path, tests: dict[str, str], config: str = PROJECT) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(config)
    for name, body in tests.items():
        path = tmp_path / "tests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
    return tmp_path


PASSING = {
    "test_quick.py": """
        import pytest

        @pytest.mark.smoke
        def test_smoke():
            pass

        def test_slow():
            pass
    """,
    "contracts/test_contract.py": "def test_contract():\n    pass\n",
}


def ran(root: Path) -> set[str]:
    """Names of the tests the one run in ``root/runs`` reported in its junit.xml."""
    (run_dir,) = (root / "runs").iterdir()
    junit = (run_dir / "junit.xml").read_text()
    return {name for name in ("test_smoke", "test_slow", "test_contract") if name in junit}


def test_a_project_that_turns_warnings_into_errors_runs_and_passes(tmp_path):
    root = project(tmp_path, PASSING)
    result = interlock("run", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PytestAssertRewriteWarning" not in result.stdout + result.stderr
    assert ran(root) == {"test_smoke", "test_slow", "test_contract"}


def test_a_declared_suite_runs_its_marker_expression_or_its_paths(tmp_path):
    root = project(tmp_path, PASSING)
    assert interlock("run", "smoke", cwd=root).returncode == 0
    assert ran(root) == {"test_smoke"}
    for old in (root / "runs").iterdir():
        shutil.rmtree(old)
    assert interlock("run", "contracts", cwd=root).returncode == 0
    assert ran(root) == {"test_contract"}


def test_run_help_lists_the_declared_suites(tmp_path):
    result = interlock("run", "--help", cwd=project(tmp_path, PASSING))
    assert result.returncode == 0
    assert "smoke" in result.stdout
    assert "contracts" in result.stdout
    assert "comprehensive" in result.stdout


def test_an_unknown_suite_is_one_line_listing_the_declared_ones(tmp_path):
    root = project(tmp_path, PASSING)
    assert_one_line_error(interlock("run", "smoek", cwd=root), "'smoek'", "smoke, contracts")
    assert not (root / "runs").exists()


def test_a_failing_test_exits_1_and_names_only_the_artifacts_that_exist(tmp_path):
    root = project(tmp_path, {"test_bad.py": "def test_bad():\n    assert 1 == 2\n"})
    result = interlock("run", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("artifacts:")]
    # no test used a stack or recorded a workflow: there are no logs and no slo.json
    assert line.endswith("(report.html, junit.xml)")


def test_threshold_options_reach_the_tests_where_a_user_types_them(tmp_path):
    root = project(
        tmp_path,
        {
            "test_thresholds.py": """
                def test_thresholds(interlock_config):
                    t = interlock_config.thresholds
                    assert (t.latency_threshold, t.performance_threshold) == (100, 99.5)
                    assert t.integration_timeout == 5000
            """
        },
    )
    result = interlock(
        "run",
        "--latency-threshold",
        "100",
        "--performance-threshold",
        "99.5",
        "--integration-timeout",
        "5000",
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--latency-threshold", "-5"),
            "--latency-threshold: latency_threshold must be a positive",
        ),
        (("--performance-threshold", "150"), "must be a percentage between 0 and 100"),
        (("--integration-timeout", "soon"), "must be a number, got 'soon'"),
        (("-n", "garbage"), "-n 'garbage': expected a number of workers"),
        (("-n", "1.5"), "-n '1.5'"),
        (("--sim-fault", "stripe:status=500"), "not a configured simulator"),
    ],
)
def test_bad_options_are_one_line_and_create_nothing(tmp_path, args, message):
    root = project(tmp_path, PASSING)
    assert_one_line_error(interlock("run", *args, cwd=root), message)
    assert not (root / "runs").exists()


def test_a_test_file_or_folder_runs_in_place_of_a_suite(tmp_path):
    root = project(tmp_path, PASSING)
    result = interlock("run", "tests/contracts/test_contract.py", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(root) == {"test_contract"}
    missing = interlock("run", "tests/nowhere.py", cwd=root)
    assert_one_line_error(missing, "no such file or suite: 'tests/nowhere.py'", "name a test file")


def test_fuzz_examples_reach_the_suite_through_its_environment_variable(tmp_path):
    check = "assert os.environ['INTERLOCK_FUZZ_EXAMPLES'] == '7'"
    body = f"import os\n\ndef test_depth():\n    {check}\n"
    root = project(tmp_path, {"test_depth.py": body})
    result = interlock("run", "--fuzz-examples", "7", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_one_line_error(interlock("run", "--fuzz-examples", "0", cwd=root), "got '0'")


@pytest.mark.integration_timeout(180_000)  # two runs, slow on a shared machine
def test_a_suite_s_fuzz_examples_reach_its_tests_unless_the_option_overrides_them(tmp_path):
    config = PROJECT.replace('smoke = "smoke"', 'fuzz = { marker = "", fuzz_examples = 50 }')
    # written to a file, not printed: an xdist worker's output does not reach the terminal
    seen = tmp_path / "depth"
    depth = f"pathlib.Path({str(seen)!r}).write_text(os.environ['INTERLOCK_FUZZ_EXAMPLES'])"
    body = f"import os\nimport pathlib\n\ndef test_depth():\n    {depth}\n"
    root = project(tmp_path, {"test_depth.py": body}, config)
    deep = interlock("run", "fuzz", cwd=root)
    assert deep.returncode == 0, deep.stdout + deep.stderr
    assert seen.read_text() == "50"
    chosen = interlock("run", "fuzz", "--fuzz-examples", "7", cwd=root)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert seen.read_text() == "7"
    bad = PROJECT.replace('smoke = "smoke"', 'fuzz = { marker = "", fuzz_examples = 0 }')
    (root / "pyproject.toml").write_text(bad)
    assert_one_line_error(interlock("run", "fuzz", cwd=root), "fuzz_examples")


@pytest.mark.parametrize(("workers", "starts"), [("0", [None]), ("2", ["gw0", "gw1"])])
def test_durations_name_each_stack_start_and_every_test_slowest_first(tmp_path, workers, starts):
    tests = {
        "test_uses_stack.py": """
            def test_quick(stack):
                pass

            def test_slow(stack):
                pass
        """
    }
    root = project(tmp_path, tests)
    result = interlock("run", "-n", workers, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = (root / "runs").iterdir()
    durations = json.loads((run_dir / "durations.json").read_text())
    assert sorted(p["worker"] or "" for p in durations["startup"]) == [w or "" for w in starts]
    assert {p["phase"] for p in durations["startup"]} == {"stack: start"}
    ranked = [t["nodeid"].rsplit("::", 1)[1] for t in durations["tests"]]
    assert set(ranked) == {"test_quick", "test_slow"}
    seconds = [t["seconds"] for t in durations["tests"]]
    assert seconds == sorted(seconds, reverse=True)
    assert "interlock: durations" in result.stdout
    assert "stack: start" in result.stdout


@pytest.mark.parametrize(
    ("options", "in_a_worker"),
    [
        (("-n", "0"), False),
        (("-n", "1"), True),
        ((), True),  # the default: every core
        (("--repeat", "1"), False),  # its rounds run in one process
    ],
    ids=["n0", "n1", "default", "repeat"],
)
def test_runs_on_every_core_by_default_and_serially_with_n_0_or_repeat(
    tmp_path, options, in_a_worker
):
    check = f"assert ('PYTEST_XDIST_WORKER' in os.environ) is {in_a_worker}"
    body = f"import os\n\ndef test_where():\n    {check}\n"
    root = project(tmp_path, {"test_where.py": body})
    result = interlock("run", *options, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration_timeout(240_000)  # two workers starting: slow on a shared machine
def test_each_worker_says_which_servers_its_stack_uses(tmp_path):
    body = "def test_a(stack):\n    pass\n\ndef test_b(stack):\n    pass\n"
    root = project(tmp_path, {"test_stack.py": body})
    result = interlock("run", "-n", "2", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    for worker in ("gw0", "gw1"):
        assert f"interlock: [{worker}] PostgreSQL: disabled" in said, said
        assert f"interlock: [{worker}] stack up in" in said, said


@pytest.mark.integration_timeout(240_000)  # two workers starting: slow on a shared machine
def test_tests_of_one_xdist_group_share_a_worker_under_n(tmp_path):
    # each test records the worker it ran on; a group split across workers would
    # start the state it shares twice
    body = """
        import os
        from pathlib import Path

        import pytest

        CASES = [
            pytest.param(group, case, marks=pytest.mark.xdist_group(group))
            for group in ("billing", "routes")
            for case in range(6)
        ]

        @pytest.mark.parametrize(("group", "case"), CASES)
        def test_where(group, case):
            folder = Path(os.environ["WHERE"]) / group
            folder.mkdir(parents=True, exist_ok=True)
            (folder / os.environ["PYTEST_XDIST_WORKER"]).touch()
    """
    root = project(tmp_path / "project", {"test_grouped.py": body})
    where = tmp_path / "where"
    result = interlock("run", "-n", "2", cwd=root, env={"WHERE": str(where)})
    assert result.returncode == 0, result.stdout + result.stderr
    workers = {group.name: {w.name for w in group.iterdir()} for group in where.iterdir()}
    assert set(workers) == {"billing", "routes"}
    assert all(len(used) == 1 for used in workers.values()), workers


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_exits_130_after_the_tests_tear_down(tmp_path, signum):
    started = tmp_path / "started"
    finished = tmp_path / "torn-down"
    root = project(
        tmp_path / "project",
        {
            "test_waits.py": f"""
                import pathlib, threading
                import pytest

                @pytest.fixture
                def resource():
                    yield
                    pathlib.Path({str(finished)!r}).write_text("done")

                def test_waits(resource):
                    pathlib.Path({str(started)!r}).write_text("go")
                    threading.Event().wait(60)  # until the signal interrupts it
            """
        },
    )
    with subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", "run"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ,
    ) as process:
        try:
            poll(
                lambda: started.exists() or process.poll() is not None, timeout=60, what="the test"
            )
            assert process.poll() is None, process.communicate()[0]
            process.send_signal(signum)
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, output
    assert finished.read_text() == "done"  # pytest unwound its fixtures before we exited


@pytest.mark.parametrize("command", [("run",), ("env", "up", "--no-app")])
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[tool.interlock.app]\ncommand = ["true"]\nready_timeout = 0\n',
            "[tool.interlock.app] ready_timeout must be a positive number of seconds, got 0",
        ),
        (
            '[tool.interlock.app]\ncommand = ["true"]\nreplicas = 0\n',
            "[tool.interlock.app] replicas must be a whole number >= 1, got 0",
        ),
        (
            '[tool.interlock.slo]\nonboarding = ["p(95)<<2"]\n',
            "[tool.interlock.slo] onboarding: bad threshold 'p(95)<<2'",
        ),
        ("[tool.interlock.postgres]\ndatabase_name = 'x'\n", "did you mean 'database'?"),
    ],
)
def test_a_bad_configuration_stops_every_command_before_anything_starts(
    tmp_path, command, extra, message
):
    config = PROJECT.replace("postgres = false\n", "").replace("redis = false\n", "")
    root = project(tmp_path, PASSING, config=config + extra)
    assert_one_line_error(interlock(*command, cwd=root), message)
    assert sorted(p.name for p in root.iterdir()) == ["pyproject.toml", "tests"]


def test_a_run_pytest_refuses_leaves_no_empty_run_folder(tmp_path):
    root = project(tmp_path, PASSING)
    result = interlock("run", "--", "--no-such-pytest-option", cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "artifacts:" not in result.stdout
    assert list((root / "runs").iterdir()) == []


def test_a_project_folder_that_does_not_exist_is_one_line(tmp_path):
    result = interlock("--project", str(tmp_path / "nowhere"), "doctor", cwd=tmp_path)
    assert_one_line_error(result, "--project", "not a folder")
