"""``interlock runs list | show | clean``: only marked run folders, by count or by age."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.runs import mark_run_dir

PROJECT = '[tool.interlock]\nartifacts = "runs"\npostgres = false\nredis = false\n'


def _runs(root: Path, ages_h: list[float]) -> list[Path]:
    """Marked run folders made ``ages_h`` hours ago."""
    made = []
    for i, age in enumerate(ages_h):
        run = root / "runs" / f"run-{i}"
        mark_run_dir(run)
        (run / "slo.json").write_text('{"ok": true, "workflows": []}')
        stamp = time.time() - age * 3600
        os.utime(run / ".interlock-run", (stamp, stamp))
        made.append(run)
    return made


def test_clean_by_age_removes_only_old_marked_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    runs = _runs(tmp_path, [72, 30, 1])
    stranger = tmp_path / "runs" / "not-ours"
    stranger.mkdir()
    (stranger / "data.txt").write_text("keep me")
    link = tmp_path / "runs" / "link"
    link.symlink_to(runs[0])
    code = main(["--project", str(tmp_path), "runs", "clean", "--older-than", "1d"])
    assert code == 0
    assert [r.exists() for r in runs] == [False, False, True]
    assert (stranger / "data.txt").read_text() == "keep me"
    assert link.is_symlink()


def test_clean_keeps_the_newest_n_and_list_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    runs = _runs(tmp_path, [5, 4, 3, 2, 1])
    assert main(["--project", str(tmp_path), "runs", "clean", "--keep", "2"]) == 0
    assert [r.exists() for r in runs] == [False, False, False, True, True]
    capsys.readouterr()
    assert main(["--project", str(tmp_path), "runs", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["run-3", "run-4"]


def test_a_bad_age_is_refused_and_nothing_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    runs = _runs(tmp_path, [72])
    with pytest.raises(SystemExit) as stopped:
        main(["--project", str(tmp_path), "runs", "clean", "--older-than", "soon"])
    assert stopped.value.code == 2
    assert "expected a number and a unit" in capsys.readouterr().err
    assert runs[0].exists()


def test_show_of_a_folder_interlock_did_not_make_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "runs" / "plain").mkdir(parents=True)
    assert main(["--project", str(tmp_path), "runs", "show", "plain"]) == 2
    assert "not a run folder" in capsys.readouterr().err
