"""What every command checks the same way: the parser's errors, the project, faults, dependencies.

Every check here runs before a command creates anything (a run folder, a state file, a
process), so bad input leaves nothing behind.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from interlock.config import Config
from interlock.errors import ConfigError, InterlockError, UsageError

__all__ = [
    "ENV_UP_FILE",
    "Parser",
    "check_dependencies",
    "check_sim_faults",
    "one_line_usage_error",
    "require_project",
    "resolve_run",
    "seed",
    "short",
]


#: the file ``interlock env up`` leaves in its run folder, so ``runs list`` can say what it was
ENV_UP_FILE = "env-up"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples keep their line breaks; long prose lines are wrapped."""

    def _expand_help(self, action: argparse.Action) -> str:
        return super()._expand_help(action).replace("``", "'")

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = text.replace("``", "'")  # docstrings' reStructuredText quotes, for a terminal
        lines = []
        for line in text.splitlines():
            if line.startswith(" ") or len(line) <= width:  # examples and tables stay as written
                lines.append(indent + line)
            else:
                lines.extend(
                    textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n".join(lines)


class Parser(argparse.ArgumentParser):
    """argparse whose every usage error is one line on stderr and exit status 2.

    The line reads ``interlock CMD: OPTION: PROBLEM (see interlock CMD --help)``: the
    usage block argparse prints first would push the error itself out of sight.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{one_line_usage_error(self.prog, message)}\n")


def one_line_usage_error(prog: str, message: str) -> str:
    """argparse's ``message`` about ``prog`` as the one line a usage error prints."""
    message = " ".join(message.split())
    if message.startswith("argument "):  # "argument --seed: invalid ..." -> "--seed: invalid ..."
        message = message[len("argument ") :]
    return f"{prog}: {message} (see {prog} --help)"


def seed(text: str) -> int:
    """``--seed``: a whole number of 0 or more (what the simulators' generators accept)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}")
    return int(text)


def require_project(config: Config) -> None:
    """A command that works on a project refuses one without ``[tool.interlock]``."""
    if config.source is None:
        raise ConfigError(
            f"no [tool.interlock] configuration in {config.root / 'pyproject.toml'}",
            hint="add one (README: 'Use Interlock in your project') "
            "or name the project with --project DIR",
        )


def check_sim_faults(
    specs: Sequence[str],
    simulators: Sequence[str],
    *,
    flag: str = "--sim-fault",
    role: str = "a configured simulator",
) -> None:
    """``interlock.simulators.faults.check_sim_faults``, imported only when there are specs."""
    if specs:
        from interlock.simulators.faults import check_sim_faults as check

        check(specs, simulators, flag=flag, role=role)


def check_dependencies(config: Config) -> None:
    """What a stack needs (servers, binaries, simulators, the app) is there; else one line."""
    from interlock.doctor import run_checks

    needed = {"simulators", "app", "artifacts"}
    if config.postgres.enabled:
        needed.add("postgres")
    if config.redis.enabled:
        needed.add("redis")
    for check in run_checks(config):
        if not check.ok and check.name in needed:
            raise InterlockError(check.detail, hint=check.fix or None)


def resolve_run(config: Config, text: str, *, file_ok: bool = False) -> Path:
    """What a RUN argument names: a run id from ``interlock runs list`` (a folder of the
    artifacts folder), a folder, or (``file_ok``) a file; else one UsageError."""
    path = Path(text)
    if path.is_dir() or (file_ok and path.is_file()):
        return path
    by_id = config.artifacts / text
    if path.name == text and by_id.is_dir():  # an id is a bare name, never a path
        return by_id
    what = "run id, folder or file" if file_ok else "run id or folder"
    raise UsageError(
        f"{text}: no such {what}",
        hint=f"run ids: 'interlock runs list' (in {short(config.artifacts)})",
    )


def short(path: Path) -> str:
    """``path`` relative to the current directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
