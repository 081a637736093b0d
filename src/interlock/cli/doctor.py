"""``interlock doctor``: what a run of this project needs, one line a check, with the fix."""

from __future__ import annotations

import argparse
from typing import Any

from interlock.cli._common import require_project
from interlock.config import Config

__all__ = ["add_doctor_parser", "cmd_doctor"]


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    """0 when every check passes, 1 when one fails; 2 (and nothing checked) without a project."""
    from interlock.doctor import run_checks

    # checking a folder that is no Interlock project would pass vacuously and leave an
    # artifacts folder behind
    require_project(config)
    checks = run_checks(config)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


def add_doctor_parser(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check binaries, servers, ports and folders a run needs",
        description="Check what a run of this project needs: PostgreSQL and Redis (binaries or "
        "the servers INTERLOCK_DATABASE_URL / INTERLOCK_REDIS_URL name), the simulators, the "
        "app command, ports, the artifact folder, tmpfs, the user PostgreSQL runs as.\n"
        "One line per check, with the fix for each failure.\n\n"
        "Exit status: 0 all pass; 1 one fails; 2 no [tool.interlock] or a bad one.",
        epilog="examples:\n"
        "  interlock doctor\n"
        "  INTERLOCK_REDIS_URL=redis://cache.internal:6379/0 interlock doctor\n"
        "  interlock --project ../other-service doctor",
    )
    doctor.set_defaults(handler=cmd_doctor)
