"""Merging the run folders of CI shards into one: JUnit, SLO aggregates (exactly), tests, HTML.

Each shard's ``slo.json`` carries every workflow's exact aggregate (an HDR histogram
with counts and sums), so the merged figures are those one run recording every sample
would give. Each workflow is judged again on the merged figures by every threshold any
shard held it to (a declaration seen by one shard binds the merged run). JUnit suites
are concatenated; ``tests.json`` entries are joined; each shard's fault log is kept, so
the timeline shows them all; continuity cells are joined.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from interlock.errors import ConfigError, UsageError
from interlock.report import junit
from interlock.report.faultlog import copy_fault_logs
from interlock.report.html import write_html
from interlock.report.html_continuity import merge_continuity, write_continuity
from interlock.report.jsonfile import write_json
from interlock.report.mergeload import merge_load
from interlock.report.outcomes import TESTS_FILE, Outcome, read_outcomes, write_outcomes
from interlock.slo.aggregate import Aggregate
from interlock.slo.report import SloReport, WorkflowResult
from interlock.slo.thresholds import Threshold, evaluate, parse_threshold

if TYPE_CHECKING:
    import pytest

__all__ = ["check_runs", "merge_junit", "merge_runs", "merge_slo"]

#: the JUnit suite of SLO verdicts (see interlock.report.junit)
SLO_SUITE = "interlock.slo"


def check_runs(runs: Sequence[Path]) -> None:
    """Each of ``runs`` is a run folder with something to merge; else one UsageError."""
    if not runs:
        raise UsageError("name at least one run folder to merge")
    for run in runs:
        if not run.is_dir():
            raise UsageError(f"{run}: not a folder")
        if not any(
            (run / name).is_file() for name in ("slo.json", "junit.xml", TESTS_FILE, "load.json")
        ):
            raise UsageError(
                f"{run}: holds no slo.json, junit.xml, {TESTS_FILE} or load.json to merge"
            )


def merge_slo(documents: Sequence[dict[str, object]]) -> SloReport:
    """One report from several ``slo.json`` documents; raises UsageError on a malformed one."""
    figures: dict[str, Aggregate] = {}
    rules: dict[str, list[Threshold]] = {}
    for document in documents:
        try:
            workflows = document["workflows"]
            assert isinstance(workflows, list)
            for w in workflows:
                name = str(w["name"])
                aggregate = Aggregate.from_dict(w["aggregate"])
                figures[name] = figures.get(name, Aggregate()) + aggregate
                known = rules.setdefault(name, [])
                for t in w["thresholds"]:
                    rule = parse_threshold(t["threshold"])
                    if rule not in known:
                        known.append(rule)
        except (KeyError, TypeError, AssertionError, ValueError, ConfigError) as exc:
            raise UsageError(f"not an slo.json Interlock wrote: {exc}") from None
    return SloReport(
        workflows=tuple(
            WorkflowResult(
                name=name,
                figures=figures[name],
                verdicts=tuple(evaluate(name, figures[name], rules[name])),
            )
            for name in sorted(figures)
        )
    )


def merge_junit(paths: Sequence[Path], out: Path) -> None:
    """Every ``<testsuite>`` of ``paths`` under one ``<testsuites>`` in ``out``."""
    root = ET.Element("testsuites")
    for path in paths:
        try:
            top = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise UsageError(f"{path}: not JUnit XML: {exc}") from None
        suites = [top] if top.tag == "testsuite" else list(top.iter("testsuite"))
        # each shard judged its own samples; the merged verdicts replace them
        root.extend(s for s in suites if s.get("name") != SLO_SUITE)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, out)


def _append_verdicts(report: SloReport, path: Path) -> None:
    """The merged verdicts as JUnit cases, by the same writer a run uses."""
    stand_in = SimpleNamespace(option=SimpleNamespace(xmlpath=str(path)))
    junit.pytest_interlock_report(report, path.parent, cast("pytest.Config", stand_in))


def merge_runs(
    runs: Sequence[Path], out: Path, *, coverage_threshold: float = 85, root: Path | None = None
) -> tuple[Path, list[str]]:
    """Merge the run folders ``runs`` into ``out`` (which must exist).

    Returns report.html and lines saying what could not be merged exactly.

    Coverage data of the shards (``--coverage``) is combined too, judged at
    ``coverage_threshold`` and reported from ``root`` (the project root).

    Everything is read and checked before anything is written, so a bad input leaves
    ``out`` as it was. Raises UsageError naming the first unreadable file.
    """
    check_runs(runs)
    documents = []
    for run in runs:
        path = run / "slo.json"
        if path.is_file():
            try:
                documents.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError as exc:
                raise UsageError(f"{path}: not JSON: {exc}") from None
    report = merge_slo(documents)
    outcomes: list[Outcome] = []
    for run in runs:
        if (run / TESTS_FILE).is_file():
            try:
                outcomes += read_outcomes(run / TESTS_FILE)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    junits = [run / "junit.xml" for run in runs if (run / "junit.xml").is_file()]
    for path in junits:  # parse them all before writing anything
        try:
            ET.parse(path)
        except ET.ParseError as exc:
            raise UsageError(f"{path}: not JUnit XML: {exc}") from None
    try:
        cells = merge_continuity(runs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:  # first of the writes: it is the last check that can refuse the inputs
        notes = [note for note in (merge_load(runs, out),) if note]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_continuity(cells, out)
    copy_fault_logs(runs, out)
    if documents:
        write_json(report, out / "slo.json")
    if junits:
        merge_junit(junits, out / "junit.xml")
        if documents:
            _append_verdicts(report, out / "junit.xml")
    write_outcomes(outcomes, out / TESTS_FILE)
    if any((run / "coverage" / ".coverage").is_file() for run in runs):
        from interlock.report.coverage import merge_coverage

        merge_coverage(runs, out, coverage_threshold, root or Path.cwd())
    (out / "merged-from").write_text("".join(f"{run}\n" for run in runs), encoding="utf-8")
    return write_html(out), notes
