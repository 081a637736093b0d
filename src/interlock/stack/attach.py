"""A run against a stack ``interlock env up`` keeps running: a view of it, its reset, a lock.

An attached run starts nothing and stops nothing. It takes the env's addresses from the
state the env published (see ``interlock.cli.envstate``), proves that every process of the
env is still alive, holds the env's attach lock for the whole run (two runs writing into
one database would each judge the other's rows), and resets the state before the tests:

    PostgreSQL  every table back to the rows it had when the env came up (see
                ``interlock.stack.baseline``), except ``alembic_version``: the schema stays
                migrated
    Redis       FLUSHDB of the env's database
    simulators  POST <url>/__interlock/reset each
    faults      POST <control>/reset: every proxy up, every toxic gone
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast

from interlock.config import Config
from interlock.errors import DependencyError, UsageError
from interlock.stack import baseline
from interlock.stack.process import ManagedProcess
from interlock.stack.redaction import MASK, redact

__all__ = [
    "AttachedFaults",
    "AttachedStack",
    "attach_lock",
    "attached_stack",
    "env_info",
    "reset_state",
]


class AttachedFaults:
    """The env's fault proxies, through their HTTP control API.

    ``url`` and ``reset()`` work as on a stack's own FaultServer; a proxy object
    (``faults["postgres"]``) lives in the env's process and cannot be handed out here,
    so asking for one raises UsageError instead of returning something that does nothing.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def __getitem__(self, name: str) -> NoReturn:
        raise UsageError(
            f"faults[{name!r}]: an attached run cannot drive the env's proxies from a test",
            hint="run this test on its own stack (without --attach), or use "
            f"'interlock faults' against {self.url}",
        )

    def reset(self) -> None:
        """Every proxy up and free of toxics; DependencyError when the env does not answer."""
        _post(f"{self.url}/reset", what="fault proxies")


@dataclass
class AttachedStack:
    """What tests use of a ``Stack``, for a stack an ``env up`` (pid ``env_pid``) runs.

    Same attribute names and shapes as ``interlock.stack.Stack``; ``processes`` is empty
    (they belong to the env: a test may not kill or restart them), and ``close()`` stops
    nothing.
    """

    env_pid: int
    postgres_url: str | None
    redis_url: str | None
    app_url: str | None
    simulators: dict[str, str]
    faults: AttachedFaults | None
    #: the env's processes: name -> pid, checked alive before the run
    pids: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The addresses, as ``Stack.describe()`` gives them (passwords masked)."""
        return {
            "postgres": redact(self.postgres_url) if self.postgres_url else None,
            "redis": redact(self.redis_url) if self.redis_url else None,
            "app": self.app_url,
            "simulators": dict(self.simulators),
            "faults": self.faults.url if self.faults is not None else None,
        }

    def close(self) -> None:
        """Nothing: the env's processes are the env's to stop."""


def env_info(config: Config, pid: int) -> dict[str, Any]:
    """The state env up ``pid`` of this project published; UsageError unless it is running.

    An env holds a lock on its state file while it runs (see ``interlock.cli.envstate``,
    which also lists and chooses envs); a lock we can take means its owner is gone.
    """
    path = config.root / ".interlock" / "env" / f"{pid}.json"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = -1
    try:
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: the env is alive
                info: dict[str, Any] = json.loads(os.read(fd, 1 << 20))
                return info
    finally:
        if fd >= 0:
            os.close(fd)
    raise UsageError(
        f"no running 'interlock env up' with pid {pid} in this project",
        hint="start one with 'interlock env up'",
    )


def attached_stack(config: Config, info: dict[str, Any]) -> AttachedStack:
    """The view of the env whose published state is ``info``.

    Raises UsageError when the env no longer matches this project's configuration (a
    masked password that is not the configured server's) or one of its processes died.
    """
    pid = int(info["pid"])
    pids = {str(name): int(p) for name, p in (info.get("pids") or {}).items() if p is not None}
    dead = [name for name, p in pids.items() if not _alive(p)]
    if dead:
        raise UsageError(
            f"the env (pid {pid}) has lost {', '.join(sorted(dead))}",
            hint="stop it (Ctrl-C) and start 'interlock env up' again",
        )
    return AttachedStack(
        env_pid=pid,
        postgres_url=_unmasked(info.get("postgres"), config.postgres.url, "postgres", pid),
        redis_url=_unmasked(info.get("redis"), config.redis.url, "redis", pid),
        app_url=info.get("app"),
        simulators=dict(info.get("simulators") or {}),
        faults=AttachedFaults(info["faults"]) if info.get("faults") else None,
        pids=pids,
    )


def reset_state(stack: AttachedStack, progress: Callable[[str], None]) -> None:
    """Empty the env's data and undo every fault, before a run; DependencyError on failure.

    The parts are independent (each its own server), so they are reset side by side; when
    several fail, the error raised is the first in the order the module docstring lists.
    """
    began = time.perf_counter()
    resets: list[tuple[str, Callable[[], object]]] = []
    if stack.postgres_url:
        resets.append(("postgres", functools.partial(baseline.restore, stack.postgres_url)))
    if stack.redis_url:
        resets.append(("redis", functools.partial(_flush_redis, stack.redis_url)))
    for name, url in stack.simulators.items():
        reset = functools.partial(_post, f"{url}/__interlock/reset", what=f"simulator {name}")
        resets.append((f"simulator {name}", reset))
    if stack.faults is not None:
        resets.append(("faults", stack.faults.reset))
    with ThreadPoolExecutor(max_workers=max(1, len(resets))) as pool:
        running = [pool.submit(reset) for _, reset in resets]
    results = {name: future.result() for (name, _), future in zip(resets, running, strict=True)}
    done = []
    if "postgres" in results:
        tables, restored = cast("tuple[int, bool]", results["postgres"])
        done.append(
            f"{tables} tables {'back as the env came up' if restored else 'emptied (no snapshot)'}"
        )
    if "redis" in results:
        done.append("redis flushed")
    if stack.simulators:
        done.append(f"{len(stack.simulators)} simulators reset")
    if "faults" in results:
        done.append("faults reset")
    progress(
        f"attached to env {stack.env_pid}: {', '.join(done) or 'nothing to reset'} "
        f"in {time.perf_counter() - began:.2f} s"
    )


@contextlib.contextmanager
def attach_lock(state_dir: Path, env_pid: int) -> Iterator[Path]:
    """Hold env ``env_pid``'s attach lock for the block; UsageError when a run holds it.

    The lock is an ``flock`` the kernel drops however its holder dies, so a crashed run
    never leaves the env locked. Its file is removed by its holder, under the lock; so
    whoever locks a file checks it still has that name, or it locked a removed one.
    """
    path = state_dir / f"{env_pid}.attach.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UsageError(
                f"another run (pid {holder}) is attached to the env (pid {env_pid})",
                hint="wait for it to end, or start a second 'interlock env up'",
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # removed by its holder as we locked it: take the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)  # ours: we hold its lock
        os.close(fd)


# -- helpers ----------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unmasked(published: str | None, configured: str | None, server: str, pid: int) -> str | None:
    """The env publishes URLs with passwords masked; a masked one is the configured server's."""
    if not published or MASK not in published:
        return published
    if configured and redact(configured) == published:
        return configured
    variable = "INTERLOCK_DATABASE_URL" if server == "postgres" else "INTERLOCK_REDIS_URL"
    raise UsageError(
        f"the env (pid {pid}) uses {published} for {server}, whose password this run lacks",
        hint=f"run with the same {variable} as the env",
    )


def _flush_redis(url: str) -> None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()
    except redis.RedisError as exc:
        raise DependencyError(f"cannot reset the env's Redis {redact(url)}: {exc}") from None


def _post(url: str, *, what: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
    except (OSError, urllib.error.URLError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # it holds the answer's connection open
        raise DependencyError(f"cannot reset {what} of the env ({url}): {exc}") from None
