"""Tagging of the processes and directories a stack creates, and the sweep of orphans.

Every process we start carries ``INTERLOCK_OWNER=<pid>:<start time>`` of the process
that owns the stack. If that owner was killed with SIGKILL (no teardown ran), the next
stack finds processes whose owner is gone and ends their process groups, and removes
work directories named after a dead owner.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import psutil

__all__ = ["owner_tag", "sweep"]

ENV = "INTERLOCK_OWNER"
DIR_PREFIX = "interlock-"


def _me() -> str:
    return f"{os.getpid()}:{psutil.Process().create_time():.0f}"


def owner_tag() -> dict[str, str]:
    return {ENV: _me()}


def _owner_alive(tag: str) -> bool:
    try:
        pid_text, created = tag.split(":", 1)
        process = psutil.Process(int(pid_text))
        # a killed owner may linger as a zombie until its parent reaps it: that is dead too
        return (
            f"{process.create_time():.0f}" == created and process.status() != psutil.STATUS_ZOMBIE
        )
    except (ValueError, psutil.Error):
        return False


def sweep(workroots: tuple[Path, ...] = ()) -> list[int]:
    """End the process groups of orphaned stack processes and remove their work dirs."""
    killed: list[int] = []
    for proc in psutil.process_iter(["pid"]):
        try:
            tag = proc.environ().get(ENV)
        except (psutil.Error, OSError):
            continue
        if not tag or _owner_alive(tag):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            killed.append(proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)
    for root in workroots:
        if not root.is_dir():
            continue
        for entry in root.glob(f"{DIR_PREFIX}*"):
            parts = entry.name[len(DIR_PREFIX) :].split("-", 2)
            if len(parts) >= 2 and not _owner_alive(f"{parts[0]}:{parts[1]}"):
                _kill_recorded(entry)
                _remove_postgres_segment(entry / "postgres" / "postmaster.pid")
                shutil.rmtree(entry, ignore_errors=True)
    return killed


PIDS_FILE = ".pids"


def record_pid(workdir: Path, pid: int | None) -> None:
    """Note a started process in its stack's work dir, for a sweep that cannot read its tag."""
    if pid is None:
        return
    with contextlib.suppress(psutil.Error, OSError), (workdir / PIDS_FILE).open("a") as out:
        out.write(f"{pid} {psutil.Process(pid).create_time():.3f}\n")


def _kill_recorded(workdir: Path) -> None:
    try:
        lines = (workdir / PIDS_FILE).read_text().splitlines()
    except OSError:
        return
    for line in lines:
        with contextlib.suppress(ValueError, psutil.Error, ProcessLookupError, PermissionError):
            pid_text, created = line.split()
            if f"{psutil.Process(int(pid_text)).create_time():.3f}" == created:  # not reused
                os.killpg(int(pid_text), signal.SIGKILL)


def _remove_postgres_segment(pidfile: Path) -> None:
    """A killed postmaster leaves its System V shared-memory segment; its id is in the pid file."""
    try:
        lines = pidfile.read_text().splitlines()
        shmid = int(lines[6].split()[1])
    except (OSError, IndexError, ValueError):
        return
    with contextlib.suppress(OSError):
        subprocess.run(["ipcrm", "-m", str(shmid)], capture_output=True, check=False, timeout=5)


def workdir_name() -> str:
    """A directory name that records its owner, for the sweep."""
    pid, created = _me().split(":")
    return f"{DIR_PREFIX}{pid}-{created}-"
