"""An artifacts setting that names no usable folder: one line naming the setting, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
PROJECT = '[tool.interlock]\ntests = "tests"\npostgres = false\nredis = false\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path


@pytest.mark.parametrize(
    ("artifacts", "says"),
    [
        ("a-file", "a-file is a file, not a folder"),
        ("a-file/runs", "cannot be made: {root}/a-file is a file"),
    ],
    ids=["a file", "under a file"],
)
def test_run_names_the_setting_in_one_line(project: Path, artifacts: str, says: str) -> None:
    result = subprocess.run(
        [INTERLOCK, "run"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "INTERLOCK_ARTIFACTS": str(project / artifacts)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says.format(root=project) in lines[0]
    assert "INTERLOCK_ARTIFACTS" in lines[0]
    assert "Errno" not in lines[0]
    assert (project / "a-file").read_text() == "not a folder"


def test_doctor_says_how_to_fix_it(project: Path) -> None:
    result = subprocess.run(
        [INTERLOCK, "doctor"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "INTERLOCK_ARTIFACTS": str(project / "a-file")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(x for x in result.stdout.splitlines() if "artifacts" in x)
    assert "FAIL" in line
    assert "is a file, not a folder" in result.stdout
    assert "INTERLOCK_ARTIFACTS" in result.stdout  # the fix names the setting
