"""`interlock report merge` refuses inputs that are not one whole run.

A merge of a shard twice, of one shard of two, or of a merged run with its shards would
publish a run that looks complete and green. Each is refused: one line, exit 2, nothing
written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.plugin.shard import SHARD_FILE, assign, shard_record
from interlock.report.outcomes import Outcome, write_outcomes

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false
"""

SUITE = """
import pytest

@pytest.mark.parametrize("i", range(6))
def test_records(slo, i):
    slo.add("checkout", duration_ms=10.0 + i, ok=True)
"""

#: the node ids of a six-test suite, as a shard would collect them
IDS = [f"test_suite.py::test_records[{i}]" for i in range(6)]


def _fake_shard(
    folder: Path, index: int, total: int, *, ids: list[str] = IDS, session: str = ""
) -> Path:
    """A shard's run folder as a shard run leaves it: its tests and its shard.json."""
    shards = assign(ids, total, {})
    folder.mkdir(parents=True)
    mine = [n for n, s in zip(ids, shards, strict=True) if s == index]
    write_outcomes([Outcome(nodeid=n, outcome="passed") for n in mine], folder / "tests.json")
    record = shard_record(ids, shards, index, total, session or f"session-{folder.name}")
    (folder / SHARD_FILE).write_text(json.dumps(record))
    return folder


def _merge(project: Path, *runs: Path) -> tuple[int, Path]:
    out = project / "merged"
    argv = ["--project", str(project), "report", "merge", *map(str, runs), "--out", str(out)]
    return main(argv), out


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_real_shards_say_what_they_are_and_merge_only_as_a_whole(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_suite=SUITE)
    runs = []
    # under xdist the workers split and the controller writes: both ways agree
    for shard, workers in (("1/2", ["-n", "2"]), ("2/2", [])):
        run_dir = pytester.path / "runs" / shard.replace("/", "of")
        result = pytester.runpytest(
            f"--interlock-run-dir={run_dir}",
            f"--junitxml={run_dir / 'junit.xml'}",
            "--shard",
            shard,
            *workers,
        )
        assert result.ret == 0, result.stdout.str()
        runs.append(run_dir)
    one, two = (json.loads((run / SHARD_FILE).read_text()) for run in runs)
    assert (one["shard"], two["shard"]) == ("1/2", "2/2")
    assert one["collection"] == two["collection"]
    assert one["split"] == two["split"]
    assert one["tests"] == two["tests"] == 6
    assert one["session"] != two["session"]

    monkeypatch.chdir(pytester.path)
    for inputs, fragment in (
        ((runs[0], runs[0]), "the same run folder twice"),
        ((runs[0],), "shard 2/2 missing"),
    ):
        code, out = _merge(pytester.path, *inputs)
        assert code == 2
        assert fragment in _one_line(capsys)
        assert not out.exists()
    code, out = _merge(pytester.path, *runs)
    assert code == 0
    assert "note:" not in capsys.readouterr().out
    assert not (out / SHARD_FILE).exists()  # the merged run is not a shard
    merged = out.rename(pytester.path / "whole")
    code, out = _merge(pytester.path, runs[1], merged)
    assert code == 2
    assert "a merged run (it has merged-from)" in _one_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("shards", "fragment"),
    [
        ([("a", 1, 2), ("b", 1, 2), ("c", 2, 2)], "shard 1/2 twice"),
        ([("a", 1, 2), ("b", 2, 3), ("c", 3, 3)], "shards of different N"),
        ([("a", 1, 3), ("b", 2, 3)], "shard 3/3 missing"),
        ([("a", 2, 3)], "shard 1/3, 3/3 missing"),
    ],
)
def test_a_shard_set_that_is_not_each_of_1_to_n_once_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shards: list[tuple[str, int, int]],
    fragment: str,
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    runs = [_fake_shard(tmp_path / name, i, n) for name, i, n in shards]
    code, out = _merge(tmp_path, *runs)
    assert code == 2
    assert fragment in _one_line(capsys)
    assert not out.exists()


def test_a_copied_shard_is_the_same_shard_run_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    one = _fake_shard(tmp_path / "shard-1", 1, 2)
    shutil.copytree(one, tmp_path / "shard-1-again")
    two = _fake_shard(tmp_path / "shard-2", 2, 2)
    code, out = _merge(tmp_path, one, tmp_path / "shard-1-again", two)
    assert code == 2
    assert "the same shard run twice" in _one_line(capsys)
    assert not out.exists()


def test_shards_of_different_collections_or_splits_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    one = _fake_shard(tmp_path / "a", 1, 2)
    other = _fake_shard(tmp_path / "b", 2, 2, ids=IDS[:-1])  # e.g. another -k
    code, out = _merge(tmp_path, one, other)
    assert code == 2
    assert "different collections" in _one_line(capsys)
    assert not out.exists()
    # the same tests, split by other durations: together they miss some and repeat some
    shards = assign(IDS, 2, {IDS[0]: 50.0, IDS[1]: 40.0})
    assert shards != assign(IDS, 2, {})
    record = shard_record(IDS, shards, 2, 2, "balanced")
    (other / SHARD_FILE).write_text(json.dumps(record))
    code, out = _merge(tmp_path, one, other)
    assert code == 2
    assert "split differently" in _one_line(capsys)
    assert not out.exists()


def test_the_same_run_id_twice_is_refused_though_its_folders_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    runs = []
    for where in ("download-1", "download-2"):  # a CI artifact fetched twice
        run = tmp_path / where / "20261130-044535-0ce60c"
        run.mkdir(parents=True)
        write_outcomes([Outcome(nodeid="t::a", outcome="passed")], run / "tests.json")
        runs.append(run)
    code, out = _merge(tmp_path, *runs)
    assert code == 2
    assert "the same run id twice" in _one_line(capsys)
    assert not out.exists()


def test_an_unreadable_shard_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    one = _fake_shard(tmp_path / "a", 1, 1)
    (one / SHARD_FILE).write_text('{"index": 1}')
    code, out = _merge(tmp_path, one)
    assert code == 2
    assert "not a shard.json Interlock wrote" in _one_line(capsys)
    assert not out.exists()


def test_runs_that_are_not_shards_merge_and_a_test_in_two_of_them_is_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    runs = []
    for name, ids in (("api", ["t::a", "t::shared"]), ("ui", ["t::b", "t::shared"])):
        run = tmp_path / name  # no .interlock-run: CI uploads drop hidden files
        run.mkdir()
        write_outcomes([Outcome(nodeid=n, outcome="passed") for n in ids], run / "tests.json")
        runs.append(run)
    code, out = _merge(tmp_path, *runs)
    assert code == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert "1 of the same tests (e.g. t::shared)" in notes[0]
    assert len(json.loads((out / "tests.json").read_text())["tests"]) == 4


def test_merge_out_that_is_a_file_or_a_users_folder_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    (run / "slo.json").write_text("not JSON")  # refused only once merging has begun
    project = ["--project", str(tmp_path), "report", "merge", str(run)]
    (tmp_path / "notes.txt").write_text("mine\n")
    assert main([*project, "--out", "notes.txt"]) == 2
    assert "--out notes.txt: not a folder" in _one_line(capsys)
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    (tmp_path / "empty").mkdir()
    assert main([*project, "--out", "empty"]) == 2
    assert "not JSON" in _one_line(capsys)
    assert (tmp_path / "empty").is_dir()
    assert not any((tmp_path / "empty").iterdir())
