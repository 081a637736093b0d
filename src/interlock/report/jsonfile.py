"""``slo.json`` in the run folder: every workflow's figures, verdicts and exact aggregate."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from interlock.slo.report import SloReport

if TYPE_CHECKING:
    import pytest

__all__ = ["pytest_interlock_report", "write_json"]


def write_json(report: SloReport, path: Path) -> None:
    """Write ``report.to_dict()`` whole or not at all (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def pytest_interlock_report(report: SloReport, run_dir: Path, config: pytest.Config) -> None:
    write_json(report, run_dir / "slo.json")
