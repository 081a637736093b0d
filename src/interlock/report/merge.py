"""Merging the run folders of CI shards into one: JUnit, SLO aggregates (exactly), tests, HTML.

Each shard's ``slo.json`` carries every workflow's exact aggregate (an HDR histogram
with counts and sums), so the merged figures are those one run recording every sample
would give. Each workflow is judged again on the merged figures by every threshold any
shard held it to (a declaration seen by one shard binds the merged run). JUnit suites
are concatenated; ``tests.json`` entries are joined; each shard's fault log is kept, so
the timeline shows them all; continuity cells are joined.

The inputs must be one whole run, each part once: the same run folder (or run id, or
shard session) twice, a merged run (it has ``merged-from``), or shards that are not
exactly 1..N of one split (``shard.json``, see interlock.plugin.shard) are refused.
Runs that are not shards (other suites, other machines) merge as they are; a test
that ran in two of them is noted. Nothing here relies on the ``.interlock-run`` marker,
which CI artifact uploads may drop with the other hidden files.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from interlock.errors import ConfigError, UsageError
from interlock.plugin.shard import SHARD_FILE
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

__all__ = ["MERGED_FROM", "check_runs", "merge_junit", "merge_runs", "merge_slo", "overlap_notes"]

#: the JUnit suite of SLO verdicts (see interlock.report.junit)
SLO_SUITE = "interlock.slo"
#: the file of a merged run listing the runs it was merged from
MERGED_FROM = "merged-from"
#: a run folder's name as interlock.runs.new_run_dir makes it
_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def check_runs(runs: Sequence[Path]) -> None:
    """``runs`` are the parts of one run, each once; else one UsageError.

    Each is a folder with something to merge and not itself a merged run; no folder, run
    id or shard session comes twice; the shards among them are 1..N of one split.
    """
    if not runs:
        raise UsageError("name at least one run folder to merge")
    seen: dict[Path, Path] = {}
    ids: dict[str, Path] = {}
    for run in runs:
        if not run.is_dir():
            raise UsageError(f"{run}: not a folder")
        if not any(
            (run / name).is_file() for name in ("slo.json", "junit.xml", TESTS_FILE, "load.json")
        ):
            raise UsageError(
                f"{run}: holds no slo.json, junit.xml, {TESTS_FILE} or load.json to merge"
            )
        if (run / MERGED_FROM).exists():
            raise UsageError(
                f"{run}: a merged run (it has {MERGED_FROM}); merge the runs it lists instead"
            )
        real = run.resolve()
        if real in seen:
            raise UsageError(f"{seen[real]} and {run}: the same run folder twice")
        seen[real] = run
        if _RUN_ID.match(real.name):
            if real.name in ids:
                raise UsageError(f"{ids[real.name]} and {run}: the same run id twice")
            ids[real.name] = run
    _check_shards(runs)


def _read_shard(run: Path) -> dict[str, object] | None:
    path = run / SHARD_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        keys = ("index", "total", "collection", "split", "session")
        if not isinstance(record, dict) or not all(k in record for k in keys):
            raise ValueError(f"lacks one of {', '.join(keys)}")
        if not all(isinstance(record[k], int) for k in ("index", "total")):
            raise ValueError("index and total are not whole numbers")
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a {SHARD_FILE} Interlock wrote: {exc}") from None
    return cast("dict[str, object]", record)


def _check_shards(runs: Sequence[Path]) -> None:
    """The shards among ``runs`` are each of 1..N once, of one collection split one way."""
    shards = [(run, record) for run in runs if (record := _read_shard(run)) is not None]
    if not shards:
        return
    first, want = shards[0]
    sessions: dict[object, Path] = {}
    for run, record in shards:
        if record["session"] in sessions:
            raise UsageError(f"{sessions[record['session']]} and {run}: the same shard run twice")
        sessions[record["session"]] = run
        if record["total"] != want["total"]:
            raise UsageError(
                f"{first} is shard {want['index']}/{want['total']} but {run} is "
                f"{record['index']}/{record['total']}: shards of different N"
            )
        if record["collection"] != want["collection"]:
            raise UsageError(
                f"{first} and {run}: shards of different collections (another checkout, "
                "-k or -m split other tests)"
            )
        if record["split"] != want["split"]:
            raise UsageError(
                f"{first} and {run}: the tests split differently (give every shard the "
                "same --shard-durations file)"
            )
    total = cast("int", want["total"])
    given: dict[object, Path] = {}
    for run, record in shards:
        if record["index"] in given:
            raise UsageError(
                f"{given[record['index']]} and {run}: shard {record['index']}/{total} twice"
            )
        given[record["index"]] = run
    missing = [f"{i}/{total}" for i in range(1, total + 1) if i not in given]
    if missing:
        raise UsageError(
            f"shard {', '.join(missing)} missing: the merge would not hold every test",
            hint=f"name the run folders of all {total} shards",
        )


def overlap_notes(runs: Sequence[Path]) -> list[str]:
    """One line for each two of ``runs`` whose tests.json share test ids (a test run twice)."""
    ran: list[tuple[Path, set[str]]] = []
    for run in runs:
        if (run / TESTS_FILE).is_file():
            try:
                ran.append((run, {o.nodeid for o in read_outcomes(run / TESTS_FILE)}))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    notes = []
    for i, (one, ids_one) in enumerate(ran):
        for two, ids_two in ran[i + 1 :]:
            both = sorted(ids_one & ids_two)
            if both:
                notes.append(
                    f"note: {one} and {two} both ran {len(both)} of the same tests "
                    f"(e.g. {both[0]}); the merge counts each run of them"
                )
    return notes


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
    notes = overlap_notes(runs)
    try:  # first of the writes: it is the last check that can refuse the inputs
        notes += [note for note in (merge_load(runs, out),) if note]
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
    (out / MERGED_FROM).write_text("".join(f"{run}\n" for run in runs), encoding="utf-8")
    return write_html(out), notes
