"""``--interlock-attach``: the session's tests run on a stack ``interlock env up`` keeps up.

At configure time the controller finds the env, proves its processes alive and takes its
attach lock (held until the session ends; a second run attached to the same env is
refused with one line). The ``stack`` fixture then resets the env's state and hands out
the env's view (see ``interlock.stack.attach``) instead of starting a stack.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from interlock.errors import InterlockError
from interlock.plugin.run import run_context
from interlock.stack.attach import AttachedStack, attach_lock, attached_stack, env_info

__all__ = ["ATTACHED", "attached"]

#: the env view of an attached session, in the controller's (and only) process
ATTACHED = pytest.StashKey[AttachedStack]()
_HELD = pytest.StashKey[ExitStack]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interlock")
    group.addoption(
        "--interlock-attach",
        metavar="PID",
        default=None,
        help="run on the stack of the running 'interlock env up' with this pid, its state "
        "reset first, instead of starting one ('interlock run --attach' finds the pid)",
    )


def attached(config: pytest.Config) -> AttachedStack | None:
    """The env this session is attached to, or None (a stack of its own)."""
    return config.stash.get(ATTACHED, None)


def pytest_configure(config: pytest.Config) -> None:
    wanted = config.getoption("interlock_attach", None)
    if wanted is None or hasattr(config, "workerinput"):
        return
    if (config.getoption("numprocesses", None) or 0) not in (0, None) or config.getoption(
        "dist", "no"
    ) != "no":
        raise pytest.UsageError(
            "interlock: --attach runs serially: the env has one database, and tests in "
            "parallel workers would judge each other's rows (drop -n)"
        )
    if not wanted.isdigit():
        raise pytest.UsageError(f"interlock: --interlock-attach {wanted!r}: expected a pid")
    settings = run_context(config).config
    held = ExitStack()
    try:
        view = attached_stack(settings, env_info(settings, int(wanted)))
        held.enter_context(attach_lock(settings.root / ".interlock" / "env", view.env_pid))
    except InterlockError as exc:
        held.close()
        raise pytest.UsageError(f"interlock: {exc}") from None
    config.stash[ATTACHED] = view
    config.stash[_HELD] = held


def pytest_unconfigure(config: pytest.Config) -> None:
    held = config.stash.get(_HELD, None)
    if held is not None:
        held.close()
