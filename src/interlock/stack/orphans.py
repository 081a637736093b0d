"""Ownership of a stack's work directory, and the sweep of what dead stacks left behind.

A stack claims a work directory ``interlock-<pid>-<start>-XXXX`` on scratch space and
holds an exclusive ``flock`` on its lock file for its whole life. The kernel drops that
lock when the owner dies, however it dies, and a lock means the same thing in every PID
namespace and container that shares the folder. So the sweep proves a leftover is dead
by taking its lock; a folder whose lock it cannot take belongs to a live run and is never
touched, nor are the processes tagged with it. A folder without the lock file was not
made by a stack (another tool's ``interlock-*`` temp folder) and is never touched either.

Every process a stack starts carries ``INTERLOCK_WORKDIR=<work dir>``, which ties it to
that lock, and ``INTERLOCK_STACK_OWNER=<pid>:<start>`` for people reading ``ps``. (Not
``INTERLOCK_OWNER``: sweeps of older versions kill what that names when its pid looks
dead, and a pid from another namespace always does.) Pids in the work dir's ``.pids``
are only acted on in the PID namespace that wrote them, and PostgreSQL's shared memory
only in the IPC namespace that made it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = [
    "WorkdirClaim",
    "claim_workdir",
    "owner_env",
    "record_pid",
    "sweep",
    "sweep_when_released",
    "watch",
]

ENV = "INTERLOCK_STACK_OWNER"
#: the work dir (and so the lock) a process belongs to
WORKDIR_ENV = "INTERLOCK_WORKDIR"
DIR_PREFIX = "interlock-"
#: the lock file that marks a stack's work dir; it only appears already locked
LOCK_NAME = ".interlock-stack.lock"
PIDS_FILE = ".pids"
NAMESPACES_FILE = ".namespaces"


def _me() -> str:
    return f"{os.getpid()}:{psutil.Process().create_time():.0f}"


def _namespace(kind: str) -> str:
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return "unknown"


@dataclass
class WorkdirClaim:
    """A work dir and the open descriptor whose ``flock`` proves it is in use."""

    path: Path
    fd: int

    def release(self) -> None:
        """Remove the work dir (still holding the lock, so no sweep races us), then unlock."""
        if self.fd < 0:
            return
        try:
            _remove_postgres_segment(self.path / "postgres" / "postmaster.pid")
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            os.close(self.fd)
            self.fd = -1


def claim_workdir(root: Path) -> WorkdirClaim:
    """Make a work dir under ``root`` and lock it; raises OSError if ``root`` is unusable.

    The lock file is locked under a temporary name and renamed into place, so a sweep
    never sees a stack's lock file unlocked.
    """
    pid, created = _me().split(":")
    path = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{pid}-{created}-", dir=root))
    claiming = path / ".lock-claiming"
    fd = os.open(claiming, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        (path / NAMESPACES_FILE).write_text(f"{_namespace('pid')}\n{_namespace('ipc')}\n")
        os.rename(claiming, path / LOCK_NAME)
    except BaseException:
        os.close(fd)
        shutil.rmtree(path, ignore_errors=True)
        raise
    return WorkdirClaim(path=path, fd=fd)


def owner_env(workdir: Path) -> dict[str, str]:
    """The tag a stack's processes carry: which stack (by work dir) they belong to."""
    return {ENV: _me(), WORKDIR_ENV: str(workdir)}


def record_pid(workdir: Path, pid: int | None) -> None:
    """Note a started process in its stack's work dir, for a sweep that cannot read its tag."""
    if pid is None:
        return
    with contextlib.suppress(psutil.Error, OSError), (workdir / PIDS_FILE).open("a") as out:
        out.write(f"{pid} {psutil.Process(pid).create_time():.3f}\n")


def sweep(roots: tuple[Path, ...]) -> list[Path]:
    """Remove the work dirs under ``roots`` whose owner is provably gone; return them.

    For each one, its processes are killed first. Never raises for a folder it cannot
    read, lock or remove: that folder is simply not provably ours.
    """
    removed: list[Path] = []
    for root in dict.fromkeys(roots):
        if not root.is_dir():
            continue
        for entry in root.glob(f"{DIR_PREFIX}*"):
            if _sweep_one(entry):
                removed.append(entry)
    return removed


#: the sentinel's program: wait for the work dir's lock, then sweep it if it is still there
_SENTINEL = (
    "import sys; from pathlib import Path; "
    "from interlock.stack.orphans import sweep_when_released; "
    "sweep_when_released(Path(sys.argv[1]))"
)


def watch(workdir: Path) -> subprocess.Popen[bytes] | None:
    """Start a sentinel that sweeps ``workdir`` the moment its owner dies, however it dies.

    The stack's processes die with it (SIGKILL on the parent's death), but what they
    started themselves (an app's worker pool, its multiprocessing helpers) does not; the
    next run's sweep would find them, but a CI agent may have no next run. The sentinel
    waits on the work dir's lock (no CPU while it waits) in a session of its own, so it
    outlives the owner; on a clean teardown the work dir is gone when it gets the lock,
    and it ends without touching anything. Returns None when it cannot be started (the
    next run's sweep is still there).
    """
    env = {k: v for k, v in os.environ.items() if k not in (ENV, WORKDIR_ENV)}
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _SENTINEL, str(workdir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    except OSError:
        return None


def sweep_when_released(workdir: Path) -> bool:
    """Wait until ``workdir``'s owner lets go of its lock; sweep it if it is still there.

    True when it was swept (its owner died without its teardown).
    """
    return _sweep_one(workdir, wait=True)


def _sweep_one(entry: Path, *, wait: bool = False) -> bool:
    if entry.is_symlink() or not entry.is_dir():
        return False
    try:
        fd = os.open(entry / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False  # not a stack's work dir, or not ours to read
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live stack holds it, in whatever namespace
        if os.fstat(fd).st_nlink == 0:
            return False  # its owner's teardown removed it, or another sweep did
        same_pid_ns, same_ipc_ns = _same_namespaces(entry)
        _kill_tagged(entry)
        if same_pid_ns:
            _kill_recorded(entry)
        if same_ipc_ns:
            _remove_postgres_segment(entry / "postgres" / "postmaster.pid")
        shutil.rmtree(entry, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def _same_namespaces(workdir: Path) -> tuple[bool, bool]:
    try:
        pid_ns, ipc_ns = (workdir / NAMESPACES_FILE).read_text().split()[:2]
    except (OSError, ValueError):
        return False, False
    return pid_ns == _namespace("pid"), ipc_ns == _namespace("ipc")


def _kill_tagged(workdir: Path) -> None:
    """SIGKILL the groups of processes tagged with ``workdir`` (visible from here)."""
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(WORKDIR_ENV) != str(workdir):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            proc.kill()
        except (psutil.Error, OSError):
            continue


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
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["ipcrm", "-m", str(shmid)], capture_output=True, check=False, timeout=5)
