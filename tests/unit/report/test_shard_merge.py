"""--shard I/N splits a run deterministically; `interlock report merge` rejoins it exactly."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.plugin import USAGE_EXIT
from interlock.plugin.shard import assign, parse_shard, past_durations
from interlock.report.outcomes import Outcome, write_outcomes
from interlock.runs import mark_run_dir, new_run_dir

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


def test_shards_leave_an_unrun_configured_workflow_to_the_merge_which_fails_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each shard is a partial run; together they are complete, so the merge judges
    configured = PYPROJECT + '\n[tool.interlock.slo]\nrefunds = ["rate>=0.99"]\n'
    runs = []
    for name, shard in (("one", "1/2"), ("two", "2/2")):
        folder = _checkout(pytester, name)
        (folder / "pyproject.toml").write_text(configured, encoding="utf-8")
        runs.append(_run(pytester, monkeypatch, folder, "--shard", shard))
        refunds = next(
            w
            for w in json.loads((runs[-1] / "slo.json").read_text())["workflows"]
            if w["name"] == "refunds"
        )
        assert refunds["not_judged"]
    merged = pytester.path / "merged"
    monkeypatch.chdir(pytester.path)
    project = str(pytester.path / "one")
    args = ["--project", project, "report", "merge", *map(str, runs), "--out", str(merged)]
    assert main(args) == 1
    verdicts = {
        w["name"]: w["ok"] for w in json.loads((merged / "slo.json").read_text())["workflows"]
    }
    assert verdicts == {"checkout": True, "refunds": False, "search": True}


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
    result = pytester.runpytest_subprocess("--shard", "3/2")
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(["*interlock: --shard '3/2': I must be between 1 and N*"])


#: a test module that leaves a trace when it is collected
COLLECTED = """
from pathlib import Path

Path("collected").touch()

def test_x():
    pass
"""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--shard", "1/2", "--shard-durations", "nope.json"), "not an Interlock tests.json"),
        (("--shard-durations", "past.json"), "--shard-durations needs --shard I/N"),
    ],
)
def test_a_bad_shard_durations_option_is_refused_before_collection(
    pytester: pytest.Pytester, args: tuple[str, ...], fragment: str
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(COLLECTED)
    write_outcomes([Outcome(nodeid="t::a", outcome="passed")], pytester.path / "past.json")
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines([f"*interlock: *{fragment}*"])
    assert not (pytester.path / "collected").exists()


def test_durations_come_only_from_a_named_file_never_from_past_runs(tmp_path: Path) -> None:
    artifacts = tmp_path / "runs"
    run = artifacts / "old"
    mark_run_dir(run)
    write_outcomes([Outcome(nodeid="t::a", outcome="passed", duration_s=1.0)], run / "tests.json")
    assert past_durations(None) == {}
    assert past_durations(run / "tests.json") == {"t::a": 1.0}
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match=r"not an Interlock tests\.json"):
        past_durations(tmp_path / "bad.json")


#: thirteen tests of uneven length, so that durations of a shard's own run would reshuffle
UNEVEN = """
import time
import pytest

@pytest.mark.parametrize("i", range(13))
def test_uneven(i):
    deadline = time.monotonic() + (0.05 if i % 4 == 0 else 0.0)
    while time.monotonic() < deadline:
        pass
"""


def test_shards_run_one_after_another_in_one_project_run_every_test_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pytester.path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (folder / "test_uneven.py").write_text(UNEVEN, encoding="utf-8")
    monkeypatch.chdir(folder)
    ran: list[str] = []
    for shard in ("1/2", "2/2"):
        # as `interlock run` does: each shard leaves its run, tests.json included, in the
        # project's artifacts folder, where the next shard finds it
        run_dir = new_run_dir(folder / ".interlock" / "runs")
        result = pytester.runpytest(
            str(folder), "--shard", shard, "-v", f"--interlock-run-dir={run_dir}"
        )
        assert (run_dir / "tests.json").is_file()
        assert result.ret == 0, result.stdout.str()
        ran += [line.split()[0] for line in result.outlines if " PASSED" in line]
    expected = [f"test_uneven.py::test_uneven[{i}]" for i in range(13)]
    assert sorted(ran) == sorted(expected)
    assert len(ran) == len(set(ran)) == 13


def test_report_html_renders_a_run_folder_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    run = tmp_path / "run"
    run.mkdir()
    write_outcomes([Outcome(nodeid="t::a", outcome="failed", longrepr="boom")], run / "tests.json")
    assert main(["--project", str(tmp_path), "report", "html", str(run)]) == 0
    assert "boom" in (run / "report.html").read_text()
    assert main(["--project", str(tmp_path), "report", "html", str(tmp_path / "nope")]) == 2


def _shard_with_faults(folder: Path, target: str, cells: list[dict[str, str]]) -> Path:
    (folder / "faults").mkdir(parents=True)
    edges = [
        {"type": "event", "phase": phase, "source": "proxy", "target": target}
        | {"fault": "down", "key": "down", "time": time, "test": f"t::{target}"}
        for phase, time in (("start", 10.0), ("end", 11.0))
    ]
    (folder / "faults" / "main.jsonl").write_text("".join(json.dumps(e) + "\n" for e in edges))
    (folder / "continuity.json").write_text(json.dumps(cells))
    write_outcomes([], folder / "tests.json")
    return folder


def test_a_merged_report_keeps_every_shards_faults_and_continuity_cells(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    cell = {"dependency": "redis", "declared": "works", "measured": "works"}
    one = _shard_with_faults(pytester.path / "one", "redis", [cell | {"workflow": "pay"}])
    two = _shard_with_faults(pytester.path / "two", "postgres", [cell | {"workflow": "read"}])
    out = pytester.path / "out"
    argv = ["--project", str(pytester.path), "report", "merge", str(one), str(two)]
    assert main([*argv, "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert 'data-source="proxy" data-target="redis"' in html
    assert 'data-source="proxy" data-target="postgres"' in html
    cells = json.loads((out / "continuity.json").read_text())
    assert sorted(c["workflow"] for c in cells) == ["pay", "read"]


def test_a_merge_refuses_a_shards_unreadable_continuity_file_and_writes_nothing(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    one = _shard_with_faults(pytester.path / "one", "redis", [])
    (one / "continuity.json").write_text('{"not": "a list"}')
    out = pytester.path / "out"
    code = main(["--project", str(pytester.path), "report", "merge", str(one), "--out", str(out)])
    assert code == 2
    assert "continuity.json: not a list of continuity cells" in capsys.readouterr().err
    assert not out.exists()
