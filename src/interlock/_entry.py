"""The ``interlock`` console script: an interrupt at any moment is one line and exit 130.

The command's own modules take a moment to import; a Ctrl-C or SIGTERM in that moment
would otherwise print Python's traceback. This module imports almost nothing, installs
the SIGTERM handling first and imports the command inside the guard.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import NoReturn

__all__ = ["Terminated", "interrupted", "main", "raise_terminated", "signal_line"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwinding as Ctrl-C does (every ``finally`` runs), but named for what it was."""


def raise_terminated(signum: int, frame: FrameType | None) -> NoReturn:
    """A SIGTERM handler: raise Terminated where the program is."""
    raise Terminated("SIGTERM")


def interrupted(exc: KeyboardInterrupt) -> str:
    """The one line an interrupt ends with: which signal it was."""
    if isinstance(exc, Terminated):
        return "interlock: terminated (SIGTERM)"
    return "interlock: interrupted (Ctrl-C)"


def signal_line(signum: int) -> str:
    """The one line a command stopped by signal ``signum`` (SIGINT or SIGTERM) ends with."""
    return interrupted(Terminated() if signum == signal.SIGTERM else KeyboardInterrupt())


def main() -> int:
    """Run the ``interlock`` command with ``sys.argv``; returns its exit status."""
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        from interlock.cli import main as command

        return command()
    except KeyboardInterrupt as exc:
        print(interrupted(exc), file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
