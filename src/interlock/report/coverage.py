"""Coverage of the system under test: its processes run under coverage.py, combined at the end.

``coverage_env(run_dir, source)`` gives the environment that makes every Python process
started with it measure itself (coverage's own start-up hook reads
``COVERAGE_PROCESS_START``; each process writes its own data file, also on SIGTERM).
``combine(run_dir, threshold)`` merges those files once the processes have stopped and
writes ``coverage.xml``, ``coverage/html/`` and ``coverage.json`` (the total and the
verdict) in the run folder. No data at all is a failed verdict, never a pass.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, final

import interlock
from interlock.errors import DependencyError

__all__ = ["COVERAGE_FILE", "CoverageResult", "combine", "coverage_env", "merge_coverage"]

COVERAGE_FILE: Final = "coverage.json"
_DIR: Final = "coverage"
_RC: Final = "coveragerc"


@final
@dataclass(frozen=True, kw_only=True)
class CoverageResult:
    """The combined line coverage: ``total`` in percent (None: no process wrote any data).

    ``not_judged`` says why the threshold was not applied (a partial or interrupted run
    covers only part of the suite: its figure is shown, its verdict left to the whole
    run or to ``interlock report merge``); None when it was.
    """

    total: float | None
    threshold: float
    files: int
    not_judged: str | None = None

    @property
    def ok(self) -> bool:
        """The total meets the threshold (False with no data, judged or not)."""
        return self.total is not None and self.total >= self.threshold

    @property
    def failed(self) -> bool:
        """The run fails on coverage: judged, and below the threshold or without data."""
        return self.not_judged is None and not self.ok

    def describe(self) -> str:
        if self.not_judged is not None:
            figure = "no data" if self.total is None else f"{self.total:.1f}% of lines"
            return (
                f"coverage: {figure} in {self.files} files: not judged against "
                f"{self.threshold:g}% ({self.not_judged})"
            )
        if self.total is None:
            return (
                "coverage: no data: no process of the system under test ran under coverage "
                f"(threshold {self.threshold:g}%)"
            )
        verdict = "PASS" if self.ok else "FAIL"
        return (
            f"coverage: {self.total:.1f}% of lines in {self.files} files "
            f"(threshold {self.threshold:g}%): {verdict}"
        )


def coverage_env(run_dir: Path, source: Sequence[str] = ()) -> dict[str, str]:
    """Environment under which a Python process measures itself into ``run_dir/coverage``.

    ``source``: packages or folders to measure (default: what coverage.py measures by
    default, the code outside the standard library and installed packages). Interlock's
    own code (simulators, proxies) is never measured. Raises DependencyError without
    coverage.py.
    """
    try:
        import coverage  # noqa: F401
    except ImportError:
        raise DependencyError(
            "--coverage needs coverage.py", hint="pip install 'interlock[report]'"
        ) from None
    return {"COVERAGE_PROCESS_START": str(_write_rc(run_dir / _DIR, source))}


def _write_rc(folder: Path, source: Sequence[str] = ()) -> Path:
    """The coverage configuration of a run folder's ``coverage/``.

    File names are kept relative to the measured process's working directory (the
    project root), so the data of CI shards run in different checkouts combine.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "[run]",
        "parallel = True",
        "sigterm = True",
        "relative_files = True",
        f"data_file = {folder / '.coverage'}",
        f"omit = {Path(interlock.__file__).parent}/*",
    ]
    if source:
        lines.append("source =\n" + "".join(f"    {s}\n" for s in source))
    rc = folder / _RC
    tmp = rc.with_name(f".{_RC}.{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, rc)
    return rc


def merge_coverage(runs: Sequence[Path], out: Path, threshold: float, root: Path) -> bool:
    """Combine the coverage of the run folders ``runs`` into ``out``; False when none had any."""
    found = [run / _DIR / ".coverage" for run in runs if (run / _DIR / ".coverage").is_file()]
    if not found:
        return False
    folder = out / _DIR
    _write_rc(folder)
    for index, data in enumerate(found):
        shutil.copyfile(data, folder / f".coverage.shard{index}")
    combine(out, threshold, root)
    return True


def combine(
    run_dir: Path, threshold: float, root: Path, *, not_judged: str | None = None
) -> CoverageResult:
    """Merge the data files under ``run_dir/coverage``; write XML, HTML and coverage.json.

    ``root`` is the project root, the measured processes' working directory, from which
    the relative file names in the data are read. ``not_judged``: why the threshold does
    not apply to this run (see CoverageResult).
    """
    import coverage

    folder = run_dir / _DIR
    data_files = sorted(str(p) for p in folder.glob(".coverage.*"))
    total: float | None = None
    files = 0
    if data_files:
        with contextlib.chdir(root):
            cov = coverage.Coverage(
                config_file=str(folder / _RC), data_file=str(folder / ".coverage")
            )
            cov.combine(data_files)
            cov.save()
            files = len(cov.get_data().measured_files())
            if files:
                total = float(cov.report(file=io.StringIO()))
                cov.xml_report(outfile=str(run_dir / "coverage.xml"))
                cov.html_report(directory=str(folder / "html"))
    result = CoverageResult(total=total, threshold=threshold, files=files, not_judged=not_judged)
    document = {
        **asdict(result),
        "ok": result.ok,
        "failed": result.failed,
        "summary": result.describe(),
        "lines": [],
    }
    (run_dir / COVERAGE_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return result
