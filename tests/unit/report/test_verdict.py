"""Every artifact of a run tells its one verdict: exit status, JUnit, report.html, runs list.

Each test runs ``interlock run`` on a tiny project (no database, no app unless measured),
then reads the run folder as CI would publish it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.helpers.deadline import poll
from interlock.report.outcomes import TESTS_FILE, Outcome, write_outcomes
from interlock.report.verdict import VERDICT_FILE

PYPROJECT = """\
[tool.interlock]
tests = "tests"
artifacts = "runs"
postgres = false
redis = false
faults = false
simulators = []
"""

#: 30 timed runs of "bulk" (each SLOW_S seconds of work), a plain test, and one that
#: blocks (when BLOCK names a file, written once it blocks) until the run is stopped
SUITE = """\
import os, time
from pathlib import Path

from interlock.helpers.deadline import poll

def test_bulk(slo):
    for _ in range(30):
        with slo("bulk"):
            # the work being timed (not a wait): SLOW_S is how slow the "app" is
            time.sleep(float(os.environ.get("SLOW_S", "0.001")))

def test_plain():
    pass

def test_blocks():
    if os.environ.get("BLOCK"):
        Path(os.environ["BLOCK"]).write_text("blocking")
        # nothing ends this but the signal the test sends; the deadline bounds a mistake
        poll(lambda: None, timeout=300, what="the run to be stopped")
"""


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    folder: Path


def _project(root: Path) -> Path:
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tests").mkdir()
    (root / "tests" / "test_suite.py").write_text(SUITE)
    return root


def _cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _call(root: Path, *args: str) -> int:
    process = _cli(root, *args)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return process.returncode


def _latest(root: Path) -> Path:
    return sorted(p for p in (root / "runs").iterdir() if p.name[0].isdigit())[-1]


def _run(root: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    process = _cli(root, "run", *args, env=env)
    output, _ = process.communicate(timeout=300)
    return Run(process.returncode, output, _latest(root))


def _stopped(root: Path, how: signal.Signals) -> Run:
    """A run stopped by ``how`` to ``interlock run`` once a test blocks."""
    started = root / "blocking"
    process = _cli(root, "run", env={"BLOCK": str(started)})
    poll(lambda: started.exists() or None, timeout=120, what="the blocking test to start")
    process.send_signal(how)
    # the pytest child holds the same output pipe: it is closed when the child is done,
    # also after a SIGKILL of its parent, when the child tears down on its own
    output, _ = process.communicate(timeout=300)
    return Run(process.returncode, output, _latest(root))


def _summary(run: Run) -> str:
    match = re.search(
        r'<p id="summary" class="([^"]+)">([^<]*)</p>', (run.folder / "report.html").read_text()
    )
    assert match, run.output
    assert match[2].startswith(match[1].replace("-", " ")), match[0]
    return match[2]


def _suites(run: Run) -> dict[str, ET.Element]:
    root = ET.parse(run.folder / "junit.xml").getroot()
    return {str(s.get("name")): s for s in root.iter("testsuite")}


def _listed(root: Path, run: Run) -> str:
    process = _cli(root, "runs", "list")
    output, _ = process.communicate(timeout=60)
    (line,) = [line for line in output.splitlines() if line.startswith(run.folder.name)]
    return line


def _verdict_case(run: Run, outcome: str) -> str:
    suite = _suites(run)["interlock.verdict"]
    (element,) = suite.iter(outcome)
    return str(element.get("message"))


@pytest.mark.parametrize(
    ("how", "says"),
    [
        (signal.SIGINT, "interrupted (SIGINT or Ctrl-C)"),
        (signal.SIGTERM, "terminated (SIGTERM)"),
        (signal.SIGKILL, "interrupted (SIGINT or Ctrl-C)"),  # the child's parent-death signal
    ],
    ids=["sigint", "sigterm", "parent-kill-9"],
)
def test_an_interrupted_run_is_interrupted_in_every_artifact(
    tmp_path: Path, how: signal.Signals, says: str
) -> None:
    root = _project(tmp_path)
    run = _stopped(root, how)
    if how != signal.SIGKILL:
        assert run.code == 130, run.output
        assert f"interlock: INTERRUPTED: {says}" in run.output
    verdict = json.loads((run.folder / "verdict.json").read_text())
    assert verdict["status"] == "INTERRUPTED"
    assert says in _verdict_case(run, "error")
    assert _summary(run).startswith(f"INTERRUPTED: {says}")
    assert "INTERRUPTED" in _listed(root, run)


def test_a_regression_under_fail_on_regression_fails_every_artifact(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _run(root).code == 0
    _call(root, "baseline", "save")
    run = _run(root, "--fail-on-regression", env={"SLOW_S": "0.03"})
    assert run.code == 1, run.output
    assert "interlock: FAIL: bulk regressed against the baseline" in run.output
    assert "bulk regressed" in _verdict_case(run, "failure")
    assert _summary(run).startswith("FAIL: bulk regressed")
    assert _listed(root, run).split("  ")[2].startswith("FAIL: bulk regressed")
    shown = _cli(root, "runs", "show", run.folder.name)
    first = shown.communicate(timeout=60)[0].splitlines()[0]
    assert first.split(": ", 1)[1].startswith("FAIL: bulk regressed"), first


def test_a_regression_without_the_option_is_reported_and_the_run_passes(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _run(root).code == 0
    _call(root, "baseline", "save")
    run = _run(root, env={"SLOW_S": "0.03"})
    assert run.code == 0, run.output
    document = json.loads((run.folder / "regressions.json").read_text())
    assert [c["verdict"] for c in document["comparisons"]] == ["regressed"]
    assert "interlock.verdict" not in _suites(run)
    assert _summary(run).startswith("PASS")
    assert _listed(root, run).split("  ")[2].startswith("PASS")


def test_a_green_run_is_pass_in_every_artifact(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run = _run(root)
    assert run.code == 0, run.output
    assert json.loads((run.folder / "verdict.json").read_text()) == {
        "status": "PASS",
        "exit_code": 0,
        "reasons": [],
    }
    suites = _suites(run)
    assert "interlock.verdict" not in suites
    assert all(s.get("failures") == s.get("errors") == "0" for s in suites.values())
    assert _summary(run).startswith("PASS (3 passed; 1 workflows, 0 breached)")
    assert _listed(root, run).endswith("PASS; 3 passed")


#: an app serving one path of two: far below the coverage threshold
APP = """\
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/":
            body = b"up"
        else:
            body = unused()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)


def unused():
    parts = [b"a", b"b"]
    parts.append(b"c")
    parts.append(b"d")
    return b"".join(parts)


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_a_coverage_failure_fails_every_artifact(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "pyproject.toml").write_text(
        PYPROJECT
        + '[tool.interlock.app]\ncommand = ["{python}", "server/app.py", "{port}"]\nhealth = "/"\n'
    )
    (root / "server").mkdir()
    (root / "server" / "app.py").write_text(APP)
    (root / "tests" / "test_app.py").write_text("def test_app(stack):\n    assert stack.app_url\n")
    run = _run(root, "--coverage")
    assert run.code == 1, run.output
    assert "interlock: FAIL: coverage:" in run.output
    assert "coverage:" in _verdict_case(run, "failure")
    assert _summary(run).startswith("FAIL: coverage:")
    assert "FAIL: coverage:" in _listed(root, run)


def test_a_folder_without_a_verdict_is_never_a_pass(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run = _run(root)
    (run.folder / "verdict.json").unlink()  # as a run killed before its end leaves it
    _call(root, "report", "html", run.folder.name)
    assert _summary(run).startswith("NO VERDICT")
    assert "NO VERDICT" in _listed(root, run)


def test_a_stack_that_cannot_start_is_not_judged_in_every_artifact(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "pyproject.toml").write_text(
        PYPROJECT
        + '[tool.interlock.app]\ncommand = ["{python}", "-c", "raise SystemExit(3)"]\n'
        + 'health = "/"\n'
    )
    (root / "tests" / "test_app.py").write_text("def test_app(stack):\n    assert stack.app_url\n")
    run = _run(root)
    assert run.code == 2, run.output
    suites = _suites(run)
    assert suites["interlock.stack"].get("errors") == "1"
    assert "interlock.verdict" not in suites  # the stack's own case says it
    assert _summary(run).startswith("NOT JUDGED: app ")
    (reason,) = json.loads((run.folder / "verdict.json").read_text())["reasons"]
    assert "\n" not in reason  # one line each; the app's log lines stay in its log
    assert "NOT JUDGED: app " in _listed(root, run)


def test_a_report_writer_that_raises_is_not_judged_in_every_artifact(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "tests" / "conftest.py").write_text(
        "def pytest_interlock_report(report, run_dir, config):\n    raise OSError('disk full')\n"
    )
    run = _run(root)
    assert run.code == 2, run.output
    assert "disk full" in _verdict_case(run, "error")
    assert _summary(run).startswith("NOT JUDGED: report writer")
    assert "NOT JUDGED: report writer" in _listed(root, run)


def _shard(folder: Path, verdict: dict[str, object] | None) -> Path:
    folder.mkdir()
    write_outcomes([Outcome(nodeid=f"t::{folder.name}", outcome="passed")], folder / TESTS_FILE)
    if verdict is not None:
        (folder / VERDICT_FILE).write_text(json.dumps(verdict))
    return folder


def test_a_merge_with_an_interrupted_shard_is_interrupted_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    passed = {"status": "PASS", "exit_code": 0, "reasons": []}
    stopped = {"status": "INTERRUPTED", "exit_code": 130, "reasons": ["terminated (SIGTERM)"]}
    one = _shard(tmp_path / "one", passed)
    two = _shard(tmp_path / "two", stopped)
    out = tmp_path / "merged"
    argv = ["--project", str(tmp_path), "report", "merge", str(one), str(two), "--out", str(out)]
    assert main(argv) == 1
    verdict = json.loads((out / VERDICT_FILE).read_text())
    assert verdict["status"] == "INTERRUPTED"
    assert verdict["reasons"] == ["two: INTERRUPTED: terminated (SIGTERM)"]
    page = (out / "report.html").read_text()
    assert '<p id="summary" class="INTERRUPTED">INTERRUPTED: two: INTERRUPTED' in page

    clean = tmp_path / "clean"
    argv = ["--project", str(tmp_path), "report", "merge", str(one), "--out", str(clean)]
    assert main(argv) == 0
    assert json.loads((clean / VERDICT_FILE).read_text())["status"] == "PASS"
