"""Run folders: ``<artifacts>/<run id>/`` with junit.xml, slo.json and logs/."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

__all__ = ["new_run_dir", "prune_runs"]

KEEP_RUNS = 20


def new_run_dir(artifacts: Path, *, create: bool = True) -> Path:
    """A fresh, sortable run folder; older runs beyond the last KEEP_RUNS are removed."""
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    path = artifacts / run_id
    if create:
        path.mkdir(parents=True, exist_ok=False)
        prune_runs(artifacts)
    return path


def prune_runs(artifacts: Path, keep: int = KEEP_RUNS) -> None:
    runs = sorted(p for p in artifacts.iterdir() if p.is_dir()) if artifacts.is_dir() else []
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
