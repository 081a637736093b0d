"""The command line builds only the command it runs, and every help reads as if it built all."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock.cli import COMMANDS, OVERVIEW, build_parser, command_of

SUITES = {"comprehensive": "every suite", "business": "one suite"}
WMS = Path(__file__).resolve().parents[2] / "apps" / "wms"


def helps(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(command path, its --help) for the parser and every command and action under it."""
    yield " ".join(path), parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from helps(sub, (*path, name))


def test_every_help_is_the_same_when_only_its_command_is_built():
    whole = dict(helps(build_parser(SUITES)))
    assert {path.split(" ")[0] for path in whole if path} == set(COMMANDS)
    overview = dict(helps(build_parser(SUITES, command=OVERVIEW)))
    assert overview[""] == whole[""], "'interlock --help' differs when no command is built"
    for name in COMMANDS:
        alone = dict(helps(build_parser(SUITES, command=name)))
        assert alone[""] == whole[""], f"'interlock --help' differs when {name} is built alone"
        for path, text in alone.items():
            if path == name or path.startswith(f"{name} "):
                assert text == whole[path], f"'interlock {path} --help' differs"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run", "tests/x.py", "--attach"], "run"),
        (["--project", "apps/wms", "env", "up"], "env"),
        (["--project=apps/wms", "monitor", "history", "--help"], "monitor"),
        (["faults", "-h"], "faults"),
        (["--help"], OVERVIEW),
        ([], OVERVIEW),
        (["--project", "apps/wms"], OVERVIEW),
        (["nosuch"], None),
        (["--project"], None),  # the full parser says what is missing
    ],
)
def test_the_command_a_line_names_is_found_before_parsing(argv, command):
    assert command_of(argv) == command


def test_running_a_command_imports_no_other_command_nor_pytest():
    probe = (
        "import sys\n"
        "from interlock.cli import main\n"
        "try:\n"
        "    main(['run', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=WMS,  # a project whose configuration has every kind of table
    )
    loaded = set(done.stdout.split("\n")[-2].split())
    assert "interlock.cli.run" in loaded
    others = {module for name, (module, _) in COMMANDS.items() if name not in ("run", "report")}
    # run's options include the report options ``interlock.cli.report`` defines
    assert not others & loaded, sorted(others & loaded)
    assert not {"interlock.monitor", "interlock.load"} & loaded
    # nor pytest, which runs in a child interpreter of its own
    assert not {"pytest", "_pytest"} & loaded
