"""Run folders: only folders Interlock made are ever pruned."""

from __future__ import annotations

from pathlib import Path

from interlock.runs import MARKER, mark_run_dir, new_run_dir, prune_runs, release_run_dir


def finished_run(artifacts: Path) -> Path:
    """A run folder as a finished run leaves it: made, then no longer held."""
    path = new_run_dir(artifacts)
    release_run_dir(path)
    return path


def test_pruning_keeps_folders_interlock_did_not_make(tmp_path: Path) -> None:
    important = tmp_path / "0-important"
    important.mkdir()
    (important / "thesis.tex").write_text("years of work")
    for _ in range(3):
        finished_run(tmp_path)
    removed = prune_runs(tmp_path, keep=1)
    assert len(removed) == 2
    assert (important / "thesis.tex").read_text() == "years of work"
    assert len([p for p in tmp_path.iterdir() if (p / MARKER).is_file()]) == 1


def test_pruning_never_follows_a_symbolic_link_to_a_run_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    mark_run_dir(elsewhere)
    release_run_dir(elsewhere)
    artifacts = tmp_path / "runs"
    artifacts.mkdir()
    (artifacts / "00-link").symlink_to(elsewhere)
    finished_run(artifacts)
    assert prune_runs(artifacts, keep=1) == []
    assert (elsewhere / MARKER).is_file()


def test_new_run_dir_keeps_the_newest_marked_runs(tmp_path: Path) -> None:
    made = [finished_run(tmp_path) for _ in range(4)]
    prune_runs(tmp_path, keep=2)
    assert set(tmp_path.iterdir()) == set(made[-2:])
