"""--shard I/N splits a run deterministically; `interlock report merge` rejoins it exactly."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.plugin.shard import assign, parse_shard

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false
"""

#: nine tests, each recording a distinct set of samples of two workflows
SUITE = """
import pytest

@pytest.mark.parametrize("i", range(9))
def test_records(slo, i):
    for k in range(5):
        slo.add("checkout", duration_ms=10.0 + 37.0 * i + 3.3 * k, ok=(i, k) != (4, 2))
    slo.add("search", duration_ms=100.0 + i * i, ok=True)
"""


def _checkout(pytester: pytest.Pytester, name: str) -> Path:
    folder = pytester.path / name
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (folder / "test_suite.py").write_text(SUITE, encoding="utf-8")
    return folder


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, folder: Path, *args: str
) -> Path:
    run_dir = folder / "runs" / "run"
    monkeypatch.chdir(folder)
    result = pytester.runpytest(
        str(folder), f"--interlock-run-dir={run_dir}", f"--junitxml={run_dir / 'junit.xml'}", *args
    )
    assert result.ret == 0, result.stdout.str()
    return run_dir


def _nodeids(run_dir: Path) -> list[str]:
    return [t["nodeid"] for t in json.loads((run_dir / "tests.json").read_text())["tests"]]


def test_two_shards_in_two_checkouts_merge_into_the_unsharded_figures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _run(pytester, monkeypatch, _checkout(pytester, "whole"))
    one = _run(pytester, monkeypatch, _checkout(pytester, "one"), "--shard", "1/2")
    two = _run(pytester, monkeypatch, _checkout(pytester, "two"), "--shard", "2/2")
    ids_one, ids_two = _nodeids(one), _nodeids(two)
    assert ids_one
    assert ids_two
    assert not set(ids_one) & set(ids_two)
    assert sorted(ids_one + ids_two) == sorted(_nodeids(whole))

    merged = pytester.path / "merged"
    monkeypatch.chdir(pytester.path)
    code = main(
        [
            "--project",
            str(pytester.path / "one"),
            "report",
            "merge",
            str(one),
            str(two),
            "--out",
            str(merged),
        ]
    )
    assert code == 0
    got = json.loads((merged / "slo.json").read_text())
    want = json.loads((whole / "slo.json").read_text())
    assert got == want  # figures, verdicts and the exact aggregates
    cases = ET.parse(merged / "junit.xml").getroot().iter("testcase")
    names = sorted(c.get("name", "") for c in cases)
    assert names.count("checkout") == 1  # one merged verdict, not one per shard
    assert sum(n.startswith("test_records") for n in names) == 9
    assert (merged / "report.html").is_file()


def test_merge_of_a_folder_without_results_says_so_and_writes_nothing(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    empty = pytester.mkdir("empty")
    out = pytester.path / "out"
    code = main(["--project", str(pytester.path), "report", "merge", str(empty), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "holds no slo.json" in err[0]
    assert not out.exists()


def test_a_shard_split_is_deterministic_balanced_by_durations_and_complete() -> None:
    ids = [f"t{i}" for i in range(10)]
    # t8 and t9 never ran before: they count as the mean of the known (2 s)
    durations = {"t0": 9.0, **{f"t{i}": 1.0 for i in range(1, 8)}}
    first = assign(ids, 3, durations)
    assert first == assign(list(reversed(ids)), 3, dict(durations))[::-1]
    assert set(first) == {1, 2, 3}
    assert first.count(first[0]) == 1  # the 9 s test has a shard to itself
    load = dict.fromkeys((1, 2, 3), 0.0)
    for nodeid, shard in zip(ids, first, strict=True):
        load[shard] += durations.get(nodeid, 2.0)
    others = sorted(v for s, v in load.items() if s != first[0])
    assert others[1] - others[0] <= 1.0


@pytest.mark.parametrize("text", ["0/2", "3/2", "1-2", "a/b", ""])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def test_a_bad_shard_option_is_one_usage_line(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--shard", "3/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*interlock: --shard '3/2': I must be between 1 and N*"])
