"""State files of running ``interlock env up`` processes, one each, proved alive by a lock.

``<project>/.interlock/env/<pid>.json`` holds one env's addresses. Its owner holds an
exclusive ``flock`` on it for as long as it runs; the kernel drops the lock when the
owner dies, however it dies. So a file whose lock can be taken is stale, and whoever
took the lock may remove it; a pid alone would prove nothing (reuse, namespaces).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from interlock.config import Config
from interlock.errors import UsageError

__all__ = ["choose_env", "live_envs", "published", "state_dir"]


def state_dir(config: Config) -> Path:
    """Where running ``env up`` processes of this project leave their addresses."""
    return config.root / ".interlock" / "env"


@contextlib.contextmanager
def published(config: Config, info: dict[str, Any]) -> Iterator[Path]:
    """Publish ``info`` for other commands while the block runs; remove it after."""
    folder = state_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    # locked before it is visible under its name: a reader never sees an unlocked live file
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    path = folder / f"{os.getpid()}.json"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({**info, "pid": os.getpid()}).encode())
        os.replace(temporary, path)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)  # ours: we hold its lock
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        os.close(fd)


def live_envs(config: Config) -> dict[int, dict[str, Any]]:
    """pid -> published info of every live ``env up`` of the project; stale files removed."""
    found: dict[int, dict[str, Any]] = {}
    folder = state_dir(config)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # its owner just stopped
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: its owner is alive
                with contextlib.suppress(ValueError, OSError):
                    data = json.loads(path.read_text())
                    found[int(data["pid"])] = data
                continue
            # we hold the lock of a file nobody owns; unless the name has meanwhile been
            # given to a new env's file (its pid reused), it is ours to remove
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    path.unlink()
        finally:
            os.close(fd)
    return found


def choose_env(config: Config, wanted: int | None, *, flag: str = "--env") -> dict[str, Any]:
    """The live env the user means: ``wanted`` (a pid), or the only one there is.

    ``flag`` is the option (or argument) that named ``wanted``, for the error.
    """
    envs = live_envs(config)
    if wanted is not None:
        if wanted not in envs:
            running = ", ".join(map(str, envs)) or "none"
            raise UsageError(
                f"{flag} {wanted}: no running 'interlock env up' with that pid",
                hint=f"running in this project: {running}",
            )
        return envs[wanted]
    if not envs:
        raise UsageError(
            "no running stack found",
            hint=f"start one with 'interlock env up'{' or pass --url' if flag == '--env' else ''} "
            f"(looked in {state_dir(config)})",
        )
    if len(envs) > 1:
        raise UsageError(
            f"{len(envs)} stacks are up in this project (pids {', '.join(map(str, envs))})",
            hint=f"choose one with {flag} PID",
        )
    return next(iter(envs.values()))
