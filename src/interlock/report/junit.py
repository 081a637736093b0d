"""JUnit: one test case per workflow in a suite ``interlock.slo``, so CI shows each breach."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from interlock.slo.report import SloReport

if TYPE_CHECKING:
    import pytest

__all__ = ["Case", "append_suite", "junit_path", "pytest_interlock_report"]


@dataclass(frozen=True, kw_only=True)
class Case:
    """A test case to append; ``outcome`` "failure" or "error" carries ``message`` and ``text``."""

    name: str
    time_s: float = 0.0
    outcome: Literal["passed", "failure", "error"] = "passed"
    message: str = ""
    text: str = ""


def junit_path(config: pytest.Config) -> Path | None:
    """The --junitxml file of this run, if there is one."""
    xmlpath = getattr(config.option, "xmlpath", None)
    return Path(xmlpath) if xmlpath else None


def append_suite(path: Path, suite_name: str, cases: list[Case]) -> None:
    """Add a ``<testsuite>`` of ``cases`` to the JUnit file at ``path`` (created if absent)."""
    if path.is_file():
        tree = ET.parse(path)
        root = tree.getroot()
    else:
        root = ET.Element("testsuites")
        tree = ET.ElementTree(root)
    if root.tag != "testsuites":
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
        tree = ET.ElementTree(root)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(cases)),
        failures=str(sum(c.outcome == "failure" for c in cases)),
        errors=str(sum(c.outcome == "error" for c in cases)),
        skipped="0",
    )
    for case in cases:
        element = ET.SubElement(
            suite, "testcase", classname=suite_name, name=case.name, time=f"{case.time_s:.3f}"
        )
        if case.outcome != "passed":
            ET.SubElement(element, case.outcome, message=case.message).text = case.text
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)  # never a half-written report


def pytest_interlock_report(report: SloReport, run_dir: Path, config: pytest.Config) -> None:
    path = junit_path(config)
    if path is None:
        return
    cases = []
    for workflow in report.workflows:
        if workflow.not_judged is not None:
            continue  # not a case: neither passed nor failed, the table says why
        broken = workflow.breaches()
        f = workflow.figures
        errors = "; ".join(f"{text} (x{n})" for text, n in f.errors.most_common())
        cases.append(
            Case(
                name=workflow.name,
                time_s=f.avg / 1000,
                outcome="failure" if broken else "passed",
                message="SLO breach: " + ", ".join(v.describe() for v in broken),
                text=f"{f.runs} runs, success {f.rate:.3f}; errors: {errors or 'none'}",
            )
        )
    append_suite(path, "interlock.slo", cases)
