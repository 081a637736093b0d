"""A RUN argument means the same everywhere; ``runs list`` says what each folder holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.test_cli import interlock
from tests.unit.test_cli_usage import assert_only_line

from interlock.runs import new_run_dir


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.interlock]\nartifacts = "runs"\n')
    return tmp_path


def a_run(root: Path, files: dict[str, object]) -> Path:
    run = new_run_dir(root / "runs")
    for name, content in files.items():
        (run / name).write_text(json.dumps(content))
    return run


@pytest.mark.parametrize(
    "command",
    [["runs", "show"], ["report", "html"], ["baseline", "save"], ["report", "merge"]],
)
def test_every_command_taking_a_run_accepts_its_id_and_its_folder(tmp_path, command):
    root = project(tmp_path)
    slo = {"ok": True, "workflows": []}
    run = a_run(root, {"slo.json": slo, "tests.json": {"counts": {}, "tests": []}})
    for given in (run.name, str(run)):
        result = interlock(*command, given, cwd=root)
        assert result.returncode == 0, result.stderr


def test_baseline_save_accepts_an_slo_json_file(tmp_path):
    root = project(tmp_path)
    run = a_run(root, {"slo.json": {"ok": True, "workflows": []}})
    result = interlock("baseline", "save", str(run / "slo.json"), cwd=root)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", [["runs", "show"], ["report", "html"], ["baseline", "save"]])
def test_a_run_that_does_not_exist_is_one_line(tmp_path, command):
    root = project(tmp_path)
    result = interlock(*command, "20990101-000000-abcdef", cwd=root)
    assert_only_line(result, "20990101-000000-abcdef: no such run id", "interlock runs list")


def test_runs_list_says_what_load_and_env_up_folders_hold(tmp_path):
    root = project(tmp_path)
    passed = a_run(root, {"load.json": {"ok": True}})
    failed = a_run(root, {"load.json": {"ok": False}})
    env = a_run(root, {})
    (env / "env-up").write_text("1\n")  # what env up leaves in its folder
    lines = interlock("runs", "list", cwd=root).stdout.splitlines()
    summary = {line.split()[0]: line for line in lines}
    assert summary[passed.name].endswith("load PASS")
    assert summary[failed.name].endswith("load FAIL")
    assert summary[env.name].endswith("env up (logs only)")


@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "clean"], ["baseline", "show"]])
def test_runs_commands_without_a_configuration_say_so(tmp_path, command):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert_only_line(interlock(*command, cwd=tmp_path), "no [tool.interlock] configuration")
