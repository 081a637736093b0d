"""Run folders: ``<artifacts>/<run id>/`` with junit.xml, slo.json and logs/.

A run folder carries a marker file written the moment it is made; pruning removes only
folders that carry it, so an artifacts directory pointed at other work never loses any.

A run in progress holds a shared ``flock`` on its marker for as long as a process of it
lives (the one that made the folder, and the pytest process writing into it); the kernel
drops the lock when they end, however they end. Removal takes the lock exclusively,
without waiting, and removes only under it: a folder still in use is kept.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from pathlib import Path

from interlock.errors import ConfigError

__all__ = [
    "MARKER",
    "hold_run_dir",
    "is_run_dir",
    "make_folder",
    "mark_run_dir",
    "new_run_dir",
    "prune_runs",
    "release_run_dir",
    "remove_run_dir",
]

KEEP_RUNS = 20
#: file that marks a folder as a run folder Interlock made (and may therefore prune)
MARKER = ".interlock-run"


#: run folder -> its marker's descriptor, locked shared while this process uses the run
_HELD: dict[Path, int] = {}


#: which settings choose the artifacts folder, for the line that says it cannot be used
_WHERE = "set [tool.interlock] artifacts or $INTERLOCK_ARTIFACTS to a folder"


def make_folder(path: Path) -> None:
    """``mkdir -p path``; ConfigError (one line, naming the setting) when it cannot be made."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"artifacts: {path} is a file, not a folder", hint=_WHERE) from None
    except NotADirectoryError:
        file = next((p for p in path.parents if p.exists() and not p.is_dir()), path)
        raise ConfigError(
            f"artifacts: {path} cannot be made: {file} is a file", hint=_WHERE
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"artifacts: {path} cannot be made: {exc.strerror or exc}", hint=_WHERE
        ) from None


def mark_run_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed, mark it as an Interlock run folder and hold
    it as in use by this process (until it ends or calls ``release_run_dir``).

    Raises ConfigError when the folder cannot be made.
    """
    make_folder(path)
    key = path.resolve()
    if key in _HELD:
        return
    fd = os.open(path / MARKER, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_size == 0:
            # when it was made, finer than a file's mtime: runs made in one tick still
            # sort; written under the lock, so an empty marker means "being made"
            os.write(fd, f"{time.time_ns()}\n".encode("ascii"))
    except BaseException:
        os.close(fd)
        raise
    _HELD[key] = fd


def hold_run_dir(path: Path) -> bool:
    """Hold the marked run folder ``path`` as in use by this process too (a pytest process
    writing into a folder its ``interlock run`` made); False when it carries no marker."""
    key = path.resolve()
    if key in _HELD:
        return True
    try:
        fd = os.open(path / MARKER, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    fcntl.flock(fd, fcntl.LOCK_SH)
    _HELD[key] = fd
    return True


def release_run_dir(path: Path) -> None:
    """This process no longer uses ``path`` (a no-op if it did not hold it)."""
    fd = _HELD.pop(path.resolve(), None)
    if fd is not None:
        os.close(fd)


def remove_run_dir(path: Path) -> bool:
    """Remove the marked run folder ``path`` unless a run still uses it; True if removed.

    The exclusive lock is tried, never waited for, and held while the folder goes, so a
    run cannot take it up meanwhile. A marker still empty is a folder being made: kept.
    """
    if not is_run_dir(path) or path.resolve() in _HELD:
        return False
    try:
        fd = os.open(path / MARKER, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if os.fstat(fd).st_size == 0:
            return False
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a folder Interlock made for a run (and may prune)."""
    return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()


def _made_at(path: Path) -> tuple[int, str]:
    marker = path / MARKER
    try:
        return int(marker.read_text(encoding="ascii").strip() or 0), path.name
    except (OSError, ValueError):
        return marker.stat().st_mtime_ns, path.name  # a marker of an older Interlock


def new_run_dir(artifacts: Path, *, create: bool = True) -> Path:
    """A fresh, sortable run folder; older runs beyond the last KEEP_RUNS are removed.

    With ``create=False`` only the path is chosen; whoever makes it calls ``mark_run_dir``.
    Raises FileExistsError if the chosen folder exists (it holds 6 random hex digits).
    """
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    path = artifacts / run_id
    if create:
        make_folder(artifacts)
        path.mkdir(exist_ok=False)
        mark_run_dir(path)
        prune_runs(artifacts)
    return path


def prune_runs(artifacts: Path, keep: int = KEEP_RUNS) -> list[Path]:
    """Remove the marked run folders of ``artifacts`` but the newest ``keep``; return those removed.

    Folders without the marker (someone else's work, runs of an older Interlock),
    symbolic links and runs still in progress are never touched.
    """
    if not artifacts.is_dir():
        return []
    # by when the run was made: run ids made in the same second do not sort by age
    runs = sorted((p for p in artifacts.iterdir() if is_run_dir(p)), key=_made_at)
    doomed = runs[:-keep] if keep > 0 else runs
    return [old for old in doomed if remove_run_dir(old)]
