"""``interlock runs list | show | clean``: only marked run folders, by count or by age."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.helpers.deadline import poll
from interlock.runs import mark_run_dir, prune_runs, release_run_dir

PROJECT = '[tool.interlock]\nartifacts = "runs"\npostgres = false\nredis = false\n'


def _runs(root: Path, ages_h: list[float]) -> list[Path]:
    """Marked run folders made ``ages_h`` hours ago, finished (no process holds them)."""
    made = []
    for i, age in enumerate(ages_h):
        run = root / "runs" / f"run-{i}"
        mark_run_dir(run)
        release_run_dir(run)
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


HOLDER = """
import sys
from pathlib import Path
from interlock.runs import mark_run_dir
mark_run_dir(Path(sys.argv[1]))
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin: a run in progress
"""


def test_clean_keeps_a_run_in_progress_and_removes_it_once_it_ended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (finished,) = _runs(tmp_path, [2])
    live = tmp_path / "runs" / "run-live"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(live)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        assert main(["--project", str(tmp_path), "runs", "clean", "--keep", "0"]) == 0
        out = capsys.readouterr().out
        assert not finished.exists()
        assert (live / ".interlock-run").is_file()
        assert "run-live: a run or env up still uses it" in out
        assert "1 run folders removed" in out
        assert prune_runs(tmp_path / "runs", keep=0) == []  # the rotation keeps it too
    finally:
        holder.communicate("")  # ends it, however the test went
    # killed or ended, its lock went with it
    assert main(["--project", str(tmp_path), "runs", "clean", "--keep", "0"]) == 0
    assert not live.exists()


def test_a_killed_run_leaves_its_folder_removable(tmp_path: Path) -> None:
    live = tmp_path / "runs" / "run-live"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(live)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"holding\n"
    assert prune_runs(tmp_path / "runs", keep=0) == []
    holder.kill()
    holder.wait()
    assert prune_runs(tmp_path / "runs", keep=0) == [live]
    holder.stdout.close()
    assert holder.stdin is not None
    holder.stdin.close()


WAITING = """
from pathlib import Path

from interlock.helpers.deadline import poll


def test_waits_for_go():
    Path("started").touch()
    poll(lambda: Path("go").exists() or None, timeout=120, what="the go file")
"""


def test_an_interlock_run_in_progress_is_kept_even_after_its_command_was_killed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT + 'tests = "tests"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_wait.py").write_text(WAITING)
    command = subprocess.Popen(
        [str(Path(sys.executable).with_name("interlock")), "run"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        poll(lambda: (tmp_path / "started").exists() or None, timeout=120, what="the test")
        (run,) = (tmp_path / "runs").iterdir()
        # the command's pytest child goes on without it (and ends its session)
        command.kill()
        command.wait()
        assert main(["--project", str(tmp_path), "runs", "clean", "--keep", "0"]) == 0
        assert "still uses it" in capsys.readouterr().out
        assert (run / ".interlock-run").is_file()
    finally:
        (tmp_path / "go").touch()
        command.kill()
        command.wait()
    # the child ends once its test does: its lock goes with it
    poll(
        lambda: (
            (
                (main(["--project", str(tmp_path), "runs", "clean", "--keep", "0"]) == 0)
                and not run.exists()
            )
            or None
        ),
        timeout=120,
        what="the run folder to be removable",
    )
