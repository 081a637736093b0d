"""Run folders: ``<artifacts>/<run id>/`` with junit.xml, slo.json and logs/.

A run folder carries a marker file written the moment it is made; pruning removes only
folders that carry it, so an artifacts directory pointed at other work never loses any.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

__all__ = ["MARKER", "is_run_dir", "mark_run_dir", "new_run_dir", "prune_runs"]

KEEP_RUNS = 20
#: file that marks a folder as a run folder Interlock made (and may therefore prune)
MARKER = ".interlock-run"


def mark_run_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and mark it as an Interlock run folder."""
    path.mkdir(parents=True, exist_ok=True)
    marker = path / MARKER
    if not marker.is_file():
        # when it was made, finer than a file's mtime: runs made in one tick still sort
        marker.write_text(f"{time.time_ns()}\n", encoding="ascii")


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
        path.mkdir(parents=True, exist_ok=False)
        mark_run_dir(path)
        prune_runs(artifacts)
    return path


def prune_runs(artifacts: Path, keep: int = KEEP_RUNS) -> list[Path]:
    """Remove the marked run folders of ``artifacts`` but the newest ``keep``; return those removed.

    Folders without the marker (someone else's work, runs of an older Interlock) and
    symbolic links are never touched.
    """
    if not artifacts.is_dir():
        return []
    # by when the run was made: run ids made in the same second do not sort by age
    runs = sorted((p for p in artifacts.iterdir() if is_run_dir(p)), key=_made_at)
    removed = runs[:-keep] if keep > 0 else runs
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    return removed
