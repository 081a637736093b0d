"""`interlock report html` writes only into a folder holding a run's results.

It replaces a report.html only in a folder Interlock marked as a run folder: anywhere
else the file may be someone's own, and a page for a folder holding no run would read
PASS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.cli import main
from interlock.report.outcomes import Outcome, write_outcomes
from interlock.runs import mark_run_dir

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false
"""


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("holding", [None, "report.html"])
def test_report_html_refuses_a_folder_holding_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], holding: str | None
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    folder = tmp_path / "mine"
    folder.mkdir()
    if holding:
        (folder / holding).write_text("my precious\n")
    assert main(["--project", str(tmp_path), "report", "html", str(folder)]) == 2
    assert "not a run to report on" in _one_line(capsys)
    assert [p.name for p in folder.iterdir()] == ([holding] if holding else [])
    if holding:
        assert (folder / holding).read_text() == "my precious\n"


def test_report_html_replaces_a_report_only_in_a_folder_interlock_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    folder = tmp_path / "results"
    folder.mkdir()
    write_outcomes([Outcome(nodeid="t::a", outcome="failed")], folder / "tests.json")
    (folder / "report.html").write_text("my precious\n")
    project = ["--project", str(tmp_path)]
    assert main([*project, "report", "html", str(folder)]) == 2
    assert "not overwriting it" in _one_line(capsys)
    assert (folder / "report.html").read_text() == "my precious\n"
    mark_run_dir(folder)  # a run folder Interlock made: its page is Interlock's to replace
    assert main([*project, "report", "html", str(folder)]) == 0
    assert "t::a" in (folder / "report.html").read_text()
