"""What a newcomer's mistakes on the command line print: one line naming the option, exit 2."""

from __future__ import annotations

import subprocess

import pytest
from tests.unit.test_cli import interlock


def assert_only_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """stderr is exactly one line (no usage block, no traceback) holding ``fragments``."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "--seed", "abc"], ["interlock run: --seed", "(see interlock run --help)"]),
        (["run", "--seed", "-5"], ["interlock run: --seed", "0 or more"]),
        (["run", "--shard", "3/2"], ["interlock run: --shard"]),
        (["run", "--repeat", "0"], ["interlock run: --repeat"]),
        (["run", "--fuzz-examples", "-1"], ["interlock run: --fuzz-examples"]),
        (
            ["faults", "add", "postgres", "latency", "--toxicity", "1.5"],
            ["interlock faults add: --toxicity", "(see interlock faults add --help)"],
        ),
        (["runs", "clean", "--keep", "-1"], ["interlock runs clean: --keep"]),
        (["monitor", "history", "--format", "xml"], ["interlock monitor history: --format"]),
        (["monitor", "--interval", "-1"], ["interlock monitor: --interval", "above 0"]),
        (["monitor", "--interval", "nan"], ["interlock monitor: --interval", "above 0"]),
        (["env", "down", "--timeout", "0"], ["interlock env down: --timeout", "above 0"]),
        (["env", "down", "--timeout", "inf"], ["interlock env down: --timeout", "above 0"]),
        (["monitor", "--port", "99999"], ["interlock monitor: --port", "0 to 65535"]),
        (["sims", "stripe=99999"], ["interlock sims:", "port out of range"]),
        (["sims", "--seed", "-5"], ["interlock sims: --seed"]),
        (["nosuchcommand"], ["interlock: COMMAND: invalid choice", "(see interlock --help)"]),
    ],
)
def test_a_usage_error_is_one_line_naming_the_option(args, fragments):
    line = assert_only_line(interlock(*args), *fragments)
    assert "[tool.interlock" not in line  # the value came from the command line


def test_a_misspelled_fault_kind_is_called_unknown_with_a_suggestion():
    result = interlock("run", "--sim-fault", "stripe:stauts=500")
    assert_only_line(result, "unknown fault kind 'stauts'", "did you mean 'status'")


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_fault_flag_with_a_word_it_does_not_know_is_refused(value):
    result = interlock("run", "--sim-fault", f"stripe:drop,after={value}")
    assert_only_line(result, "--sim-fault", "after takes no value or one of")


def test_a_bare_after_flag_means_after():
    from interlock.simulators import parse_fault_spec

    assert parse_fault_spec("stripe:drop,after")[1].after is True
    assert parse_fault_spec("stripe:drop,after=no")[1].after is False


def test_attach_to_a_pid_that_is_no_env_names_attach():
    assert_only_line(interlock("run", "--attach", "99999999"), "--attach 99999999: no running")


def test_a_missing_test_file_is_no_such_file_or_suite():
    assert_only_line(interlock("run", "tests/nope.py"), "no such file or suite: 'tests/nope.py'")


@pytest.mark.parametrize("command", [["load"], ["runs"], ["runs", "clean"], ["baseline"]])
def test_help_shows_no_raw_markup_and_the_real_option_spelling(command):
    result = interlock(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "``" not in result.stdout
    assert "run -- --fail-on-regression" not in result.stdout


def test_the_readme_section_doctor_points_to_exists(tmp_path):
    import re
    from pathlib import Path

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    line = assert_only_line(interlock("doctor", cwd=tmp_path), "README: '")
    section = re.search(r"README: '([^']+)'", line)
    assert section is not None, line
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert f"## {section[1]}\n" in readme.read_text(encoding="utf-8")
