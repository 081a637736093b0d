"""--coverage measures the app's own process, writes XML and HTML, and gates the threshold."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

from interlock.plugin import USAGE_EXIT

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false

[tool.interlock.app]
command = ["{python}", "server/app.py", "{port}"]
health = "/"
"""

#: an app with a branch the suite never takes
APP = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/":
            body = b"up"
        elif self.path == "/used":
            body = b"used"
        else:
            body = never_called_a()
            body += never_called_b()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)


def never_called_a():
    parts = [b"a", b"b"]
    return b"".join(parts)


def never_called_b():
    extra = b"c"
    extra += b"d"
    extra += b"e"
    return extra


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

SUITE = """
import httpx

def test_used(stack):
    assert httpx.get(stack.app_url + "/used").text == "used"
"""


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.mkdir("server")
    (pytester.path / "server" / "app.py").write_text(APP)
    pytester.makepyfile(test_app=SUITE)


def test_the_apps_process_is_measured_and_a_run_below_the_threshold_fails(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester)
    run_dir = pytester.path / "run"
    source = str(pytester.path / "server")
    result = pytester.runpytest(
        f"--interlock-run-dir={run_dir}", "--coverage", "--coverage-source", source
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # below 85 %
    result.stdout.fnmatch_lines(["coverage: *% of lines in 1 files (threshold 85%): FAIL"])
    summary = json.loads((run_dir / "coverage.json").read_text())
    assert 40 < summary["total"] < 85
    files = [c.get("filename") for c in ET.parse(run_dir / "coverage.xml").iter("class")]
    assert files == ["server/app.py"]
    assert (run_dir / "coverage" / "html" / "index.html").is_file()
    assert "Coverage of the system under test" in (run_dir / "report.html").read_text()


def test_a_run_at_or_above_the_threshold_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester)
    monkeypatch.setenv("COVERAGE_THRESHOLD", "40")
    result = pytester.runpytest(
        f"--interlock-run-dir={pytester.path / 'run'}",
        "--coverage",
        "--coverage-source",
        str(pytester.path / "server"),
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["coverage: *(threshold 40%): PASS"])


def test_no_coverage_data_is_a_failure_not_a_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile("def test_nothing_started():\n    pass\n")
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}", "--coverage")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["coverage: no data: *"])


TWO_TESTS = """
import httpx

def test_used(stack):
    assert httpx.get(stack.app_url + "/used").text == "used"

def test_other(stack):
    assert httpx.get(stack.app_url + "/other").text == "abcde"
"""


def test_shards_in_two_checkouts_combine_into_the_unsharded_coverage(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    totals = {}
    for name, shard in (("whole", ()), ("one", ("--shard", "1/2")), ("two", ("--shard", "2/2"))):
        checkout = pytester.mkdir(name)
        (checkout / "pyproject.toml").write_text(PYPROJECT)
        (checkout / "server").mkdir()
        (checkout / "server" / "app.py").write_text(APP)
        (checkout / "test_app.py").write_text(TWO_TESTS)
        monkeypatch.chdir(checkout)
        result = pytester.runpytest(
            str(checkout), f"--interlock-run-dir={checkout / 'run'}", "--coverage", *shard
        )
        result.assert_outcomes(passed=1 if shard else 2)
        totals[name] = json.loads((checkout / "run" / "coverage.json").read_text())["total"]
    monkeypatch.chdir(pytester.path / "one")
    from interlock.cli import main

    merged = pytester.path / "merged"
    runs = [str(pytester.path / n / "run") for n in ("one", "two")]
    main(["report", "merge", *runs, "--out", str(merged)])
    combined = json.loads((merged / "coverage.json").read_text())
    assert combined["total"] == pytest.approx(totals["whole"])
    assert combined["total"] > max(totals["one"], totals["two"])
    files = [c.get("filename") for c in ET.parse(merged / "coverage.xml").iter("class")]
    assert files == ["server/app.py"]


#: the app's covered share stays below 85 % whatever runs; test_elsewhere never calls it
BELOW = (
    SUITE
    + """

def test_elsewhere():
    pass
"""
)


def _two_tests(pytester: pytest.Pytester, suite: str = BELOW) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.mkdir("server")
    (pytester.path / "server" / "app.py").write_text(APP)
    pytester.makepyfile(test_app=suite)


@pytest.mark.parametrize("select", [["-k", "used"], ["--shard", "1/2"]], ids=["-k", "--shard"])
def test_a_partial_run_shows_its_coverage_without_judging_it(
    pytester: pytest.Pytester, select: list[str]
) -> None:
    # part of the suite covers part of the code: a shard below the threshold is not a
    # failure (the merged report judges the whole), nor is a -k run while editing
    _two_tests(pytester)
    run_dir = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}", "--coverage", *select)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["coverage: *: not judged against 85% (partial run: *)"])
    document = json.loads((run_dir / "coverage.json").read_text())
    assert (document["ok"], document["failed"]) == (False, False)
    assert document["not_judged"].startswith("partial run: ")


def test_the_same_suite_run_whole_is_judged(pytester: pytest.Pytester) -> None:
    _two_tests(pytester)
    run_dir = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}", "--coverage")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # below 85 %
    result.stdout.fnmatch_lines(["coverage: *(threshold 85%): FAIL"])
    assert json.loads((run_dir / "coverage.json").read_text())["failed"] is True


def test_shards_not_judged_alone_are_judged_merged(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_tests(pytester)
    monkeypatch.chdir(pytester.path)
    runs = []
    for shard in ("1/2", "2/2"):
        run_dir = pytester.path / f"run-{shard[0]}"
        result = pytester.runpytest(
            f"--interlock-run-dir={run_dir}", "--coverage", "--shard", shard
        )
        assert result.ret == pytest.ExitCode.OK  # each shard: not judged
        runs.append(str(run_dir))
    from interlock.cli import main

    merged = pytester.path / "merged"
    assert main(["report", "merge", *runs, "--out", str(merged)]) == 1  # the whole: below 85 %
    document = json.loads((merged / "coverage.json").read_text())
    assert (document["failed"], document["not_judged"]) == (True, None)


INTERRUPTED = """
import httpx

def test_used(stack):
    assert httpx.get(stack.app_url + "/used").text == "used"
    raise KeyboardInterrupt
"""


def test_an_interrupted_run_shows_its_coverage_without_judging_it(
    pytester: pytest.Pytester,
) -> None:
    _two_tests(pytester, INTERRUPTED)
    run_dir = pytester.path / "run"
    # in a child: an in-process run's KeyboardInterrupt would stop this session too
    result = pytester.runpytest_subprocess(f"--interlock-run-dir={run_dir}", "--coverage")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["coverage: *: not judged against 85% (interrupted run)"])


WORKER = """
import signal
import sys


def do_the_work():
    done = ["work"]
    return done


do_the_work()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
open("worker-ready", "w").close()  # from here a SIGTERM ends it with its coverage saved
signal.pause()
"""

WITH_A_WORKER = (
    PYPROJECT
    + """
[tool.interlock.services.worker]
command = ["{python}", "server/worker.py"]
"""
)

ENV_UNTOUCHED = """
import os
from pathlib import Path

import httpx
from interlock.helpers.deadline import poll

def test_used_while_nothing_here_measures_itself(stack):
    assert httpx.get(stack.app_url + "/used").text == "used"
    assert sorted(k for k in os.environ if k.startswith("COVERAGE_")) == []
    # the worker has no health check: wait until it has worked, or teardown could end
    # it before its SIGTERM handler (and its coverage) is there
    poll(lambda: Path("worker-ready").exists() or None, timeout=60, what="the worker at work")
"""


def test_the_app_and_its_worker_are_measured_without_touching_the_runs_environment(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(WITH_A_WORKER)
    pytester.mkdir("server")
    (pytester.path / "server" / "app.py").write_text(APP)
    (pytester.path / "server" / "worker.py").write_text(WORKER)
    pytester.makepyfile(test_app=ENV_UNTOUCHED)
    before = {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}
    run_dir = pytester.path / "run"
    result = pytester.runpytest(
        f"--interlock-run-dir={run_dir}",
        "--coverage",
        "--coverage-source",
        str(pytester.path / "server"),
    )
    result.assert_outcomes(passed=1)
    assert {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")} == before
    measured = {
        c.get("filename"): float(c.get("line-rate") or 0)
        for c in ET.parse(run_dir / "coverage.xml").iter("class")
    }
    assert sorted(measured) == ["server/app.py", "server/worker.py"]
    assert measured["server/worker.py"] > 0.5  # every line but the handler's body ran


def test_coverage_of_an_attached_envs_processes_is_refused_before_anything(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester)
    result = pytester.runpytest_subprocess("--coverage", "--interlock-attach", "1")
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(["*--coverage measures processes the run starts*"])
