"""A seed per run shared by every worker, and progress lines that name a long test."""

from __future__ import annotations

import re

import pytest

from interlock.plugin import USAGE_EXIT
from interlock.runs import is_run_dir

WRITES_ITS_SEED = """
import os

def test_{n}(interlock_seed, interlock_run_dir):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (interlock_run_dir / f"seen-{n}-{{worker}}").write_text(str(interlock_seed))
"""


def _seen(run):
    return {p.read_text() for p in run.glob("seen-*")}


def test_without_a_seed_every_worker_gets_the_one_the_header_prints(pytester, monkeypatch):
    monkeypatch.delenv("INTERLOCK_SEED", raising=False)
    for n in range(4):
        pytester.makepyfile(**{f"test_{n}": WRITES_ITS_SEED.format(n=n)})
    run = pytester.path / "run"
    result = pytester.runpytest("-n", "2", f"--interlock-run-dir={run}")
    result.assert_outcomes(passed=4)
    match = re.search(r"interlock: seed (\d+) — replay with --seed (\d+)", result.stdout.str())
    assert match, result.stdout.str()
    assert match.group(1) == match.group(2)
    assert _seen(run) == {match.group(1)}
    assert (run / "seed").read_text().strip() == match.group(1)
    assert len({p.name.rsplit("-", 1)[1] for p in run.glob("seen-*")}) == 2  # two workers


@pytest.mark.parametrize(
    ("args", "env", "seed"),
    [(["--interlock-seed=7"], "", "7"), ([], "11", "11"), (["--interlock-seed=7"], "11", "7")],
    ids=["option", "environment", "option-over-environment"],
)
def test_a_chosen_seed_is_the_runs_seed(pytester, monkeypatch, args, env, seed):
    monkeypatch.setenv("INTERLOCK_SEED", env)
    pytester.makepyfile(WRITES_ITS_SEED.format(n=0))
    run = pytester.path / "run"
    result = pytester.runpytest(*args, f"--interlock-run-dir={run}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"interlock: seed {seed} — replay with --seed {seed}"])
    assert _seen(run) == {seed}


def test_a_seed_that_is_not_a_number_is_a_usage_error(pytester, monkeypatch):
    monkeypatch.setenv("INTERLOCK_SEED", "tomorrow")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(["*interlock: $INTERLOCK_SEED must be a whole number*"])


def test_a_long_test_is_named_while_it_runs(pytester):
    pytester.makeini("[pytest]\ninterlock_still_running_after = 0.2\n")
    pytester.makepyfile("""
        import threading

        def test_quick():
            pass

        def test_slow():  # long by nature: nothing to wait for
            threading.Event().wait(1.5)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["interlock: still running: test_a_long_test_is_named_while_it_runs.py::test_slow (* s)"]
    )
    assert "test_quick (" not in result.stdout.str()


def test_a_run_folder_the_plugin_makes_is_marked_for_pruning_and_a_given_one_is_not(
    pytester, monkeypatch
):
    monkeypatch.setenv("INTERLOCK_ARTIFACTS", str(pytester.path / "runs"))
    pytester.makepyfile("def test_it(interlock_run_dir):\n    print(interlock_run_dir)\n")
    pytester.runpytest("-s").assert_outcomes(passed=1)
    (made,) = (pytester.path / "runs").iterdir()
    assert is_run_dir(made)  # the next run may prune it
    given = pytester.path / "mine"
    pytester.runpytest("-s", f"--interlock-run-dir={given}").assert_outcomes(passed=1)
    assert given.is_dir()
    assert not is_run_dir(given)  # the user's own folder is never Interlock's to prune


def test_under_plain_pytest_the_header_names_pytests_own_option_and_it_replays(
    pytester, monkeypatch
):
    monkeypatch.delenv("INTERLOCK_SEED", raising=False)
    pytester.makepyfile(WRITES_ITS_SEED.format(n=0))
    first = pytester.runpytest()
    match = re.search(r"interlock: seed (\d+) — replay with (\S+) (\d+)", first.stdout.str())
    assert match, first.stdout.str()
    option, seed = match.group(2), match.group(3)
    assert option == "--interlock-seed"  # --seed is interlock run's; pytest refuses it
    replay = pytester.runpytest(f"{option}={seed}")
    replay.assert_outcomes(passed=1)
    replay.stdout.fnmatch_lines([f"interlock: seed {seed} — replay with {option} {seed}"])


def test_a_sim_fault_naming_no_configured_simulator_is_refused_before_collection(pytester):
    pytester.makepyprojecttoml(
        '[tool.interlock]\npostgres = false\nredis = false\nsimulators = ["stripe"]\n'
    )
    pytester.makepyfile("from pathlib import Path\nPath('collected').touch()\ndef test_x(): pass\n")
    result = pytester.runpytest_subprocess("--sim-fault=strip:status=500")
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(["*--sim-fault 'strip:status=500' names 'strip'*stripe*"])
    assert "SLO" not in result.stdout.str() + result.stderr.str()
    assert not (pytester.path / "collected").exists()
