"""``report.html``: one self-contained page per run, rendered from the run folder's files.

The page is a function of the run folder (``slo.json``, ``tests.json``, and when present
``flaky.json``, ``regressions.json``, ``faults/``, ``continuity.json``, coverage and
profiles), so a merged run renders the same way as a single one. It holds a summary,
the SLO table with verdicts, a latency chart per workflow over the recent runs of the
same artifacts folder, the faults that were active, the continuity matrix, the
failures with their log excerpts and simulator calls, and links to the other artifacts.
No script and no external resource: it opens from a CI artifact store as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Sequence
from html import escape
from pathlib import Path
from typing import Any, Final, final

import pytest

from interlock.plugin.run import RunContext, run_context
from interlock.report.html_continuity import continuity_section
from interlock.report.html_faults import faults_section
from interlock.report.html_load import load_section
from interlock.report.outcomes import TESTS_FILE, Outcome, Outcomes, read_outcomes, write_outcomes
from interlock.report.svg import line_chart
from interlock.report.verdict import Judge, describe, write_verdict
from interlock.runs import MARKER, is_run_dir

__all__ = ["HTML_FILE", "HtmlWriter", "render_run", "write_html"]

HTML_FILE: Final = "report.html"
#: runs of the same artifacts folder shown in each workflow's chart
HISTORY: Final = 20
_PERCENTILES: Final = (("p50", "med"), ("p95", "p95"), ("p99", "p99"))

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#1a202c;max-width:70em}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #cbd5e0;padding:.3em .6em}
td.num{text-align:right}.PASS{color:#276749;font-weight:bold}.FAIL{color:#c53030;font-weight:bold}
.INTERRUPTED,.NOT-JUDGED,.NO-VERDICT{color:#975a16;font-weight:bold}
pre{background:#f7fafc;border:1px solid #e2e8f0;padding:.6em;overflow-x:auto;font-size:.85em}
.failure{border-left:4px solid #c53030;padding-left:1em;margin:1.5em 0}
figure.chart{display:inline-block;margin:.5em 1em .5em 0}
td.match{background:#f0fff4}td.mismatch{background:#fed7d7;font-weight:bold}
td .detail{font-size:.8em;font-weight:normal;color:#4a5568}
"""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _history(run_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """(run id, slo.json) of the runs of ``run_dir``'s artifacts folder up to it, oldest first."""
    runs: list[Path] = []
    parent = run_dir.parent
    if parent.is_dir():
        runs = [p for p in parent.iterdir() if is_run_dir(p) and (p / "slo.json").is_file()]
    runs.sort(key=lambda p: ((p / MARKER).stat().st_mtime_ns, p.name))
    if run_dir in runs:
        runs = runs[: runs.index(run_dir) + 1]
    elif (run_dir / "slo.json").is_file():
        runs.append(run_dir)
    history = []
    for path in runs[-HISTORY:]:
        document = _load_json(path / "slo.json")
        if isinstance(document, dict):
            history.append((path.name, document))
    return history


def _slo_table(slo: dict[str, Any]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("workflow", "runs", "success", "p50 ms", "p95 ms", "p99 ms", "max ms", "verdict")
    )
    rows = []
    for w in slo.get("workflows", []):
        broken = [t for t in w.get("thresholds", []) if not t.get("ok")]
        if w.get("no_data"):
            figures = ["0", "-", "-", "-", "-", "-"]
        else:
            figures = [
                str(w["runs"]),
                f"{w['rate'] * 100:.1f}%",
                *(f"{w[key]:g}" for key in ("med", "p95", "p99", "max")),
            ]
        if w.get("not_judged"):
            verdict = "not run (partial run)"
        elif broken:
            verdict = "FAIL " + ", ".join(
                f"{t['threshold']} (was {'no data' if t['actual'] is None else t['actual']})"
                for t in broken
            )
        else:
            verdict = "PASS"
        cells = [f"<td>{escape(w['name'])}</td>"] + [f'<td class="num">{c}</td>' for c in figures]
        cells.append(f'<td class="{verdict[:4]}">{escape(verdict)}</td>')
        rows.append(f'<tr data-workflow="{escape(w["name"])}">{"".join(cells)}</tr>')
    return f'<table id="slo"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _charts(slo: dict[str, Any], history: list[tuple[str, dict[str, Any]]]) -> str:
    figures = []
    labels = [run_id for run_id, _ in history]
    for w in slo.get("workflows", []):
        name = w["name"]
        by_run = []
        for _, document in history:
            found = [x for x in document.get("workflows", []) if x.get("name") == name]
            by_run.append(found[0] if found and not found[0].get("no_data") else None)
        series: dict[str, Sequence[float | None]] = {
            shown: [None if x is None else float(x[key]) for x in by_run]
            for shown, key in _PERCENTILES
        }
        svg = line_chart(
            f"{name}: latency percentiles over the last {len(labels)} runs", labels, series
        )
        figures.append(
            f'<figure class="chart" data-workflow="{escape(name)}">{svg}'
            f"<figcaption>{escape(name)}</figcaption></figure>"
        )
    return "".join(figures)


def _failure(outcome: Outcome) -> str:
    parts = [
        f'<article class="failure"><h3>{escape(outcome.nodeid)} ({outcome.outcome})</h3>',
        f'<pre class="traceback">{escape(outcome.longrepr)}</pre>',
    ]
    for title, text in outcome.sections:
        parts.append(f'<h4>{escape(title)}</h4><pre class="section">{escape(text)}</pre>')
    parts.append("</article>")
    return "".join(parts)


def _artifact_links(run_dir: Path) -> str:
    links = []
    for name in (
        "junit.xml",
        "slo.json",
        TESTS_FILE,
        "flaky.json",
        "regressions.json",
        "impact.json",
        "continuity.json",
        "continuity.md",
    ):
        if (run_dir / name).is_file():
            links.append(f'<li><a href="{name}">{name}</a></li>')
    for pattern in (
        "coverage/html/index.html",
        "coverage.xml",
        "profiles/*.svg",
        "*/profiles/*.svg",
        "load*.json",
    ):
        for path in sorted(run_dir.glob(pattern)):
            rel = path.relative_to(run_dir).as_posix()
            links.append(f'<li><a href="{escape(rel)}">{escape(rel)}</a></li>')
    for folder in ("logs", "faults"):
        if (run_dir / folder).is_dir():
            links.append(f'<li><a href="{folder}/">{folder}/</a></li>')
    return f'<ul id="artifacts">{"".join(links)}</ul>'


def _extra_section(run_dir: Path, name: str, title: str, key: str) -> str:
    """A list of a JSON artifact's entries (flaky tests, regressions) when the file exists."""
    document = _load_json(run_dir / name)
    if not isinstance(document, dict):
        return ""
    lines = [f"<li>{escape(str(line))}</li>" for line in document.get(key, [])]
    summary = escape(str(document.get("summary", "")))
    return (
        f'<section id="{name.split(".")[0]}"><h2>{title}</h2><p>{summary}</p>'
        f"<ul>{''.join(lines)}</ul></section>"
    )


def render_run(run_dir: Path) -> str:
    """The HTML page of the run folder ``run_dir`` (what ``report.html`` holds)."""
    slo = _load_json(run_dir / "slo.json")
    slo = slo if isinstance(slo, dict) else {"workflows": []}
    try:
        outcomes = read_outcomes(run_dir / TESTS_FILE)
    except ValueError:
        outcomes = []
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    failures = [o for o in outcomes if o.outcome in ("failed", "error")]
    breaches = sum(1 for w in slo.get("workflows", []) if not w.get("ok", True))
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no tests recorded"
    verdict = describe(run_dir)  # the run's one verdict, never re-derived here
    status = verdict.split(":", 1)[0]
    body = [
        f"<h1>Interlock run {escape(run_dir.name)}</h1>",
        f'<p id="summary" class="{status.replace(" ", "-")}">{escape(verdict)} '
        f"({escape(summary)}; {len(slo.get('workflows', []))} workflows, {breaches} breached)</p>",
        "<h2>Service-level objectives</h2>",
        _slo_table(slo) if slo.get("workflows") else "<p>No workflow ran or was declared.</p>",
        '<h2>Latency over recent runs</h2><div id="charts">',
        _charts(slo, _history(run_dir)),
        "</div>",
        load_section(run_dir),
        faults_section(run_dir),
        continuity_section(run_dir),
        _extra_section(run_dir, "impact.json", "Business impact of the breaches", "lines"),
        _extra_section(run_dir, "regressions.json", "Against the baseline", "lines"),
        _extra_section(run_dir, "flaky.json", "Flaky tests", "lines"),
        _extra_section(run_dir, "coverage.json", "Coverage of the system under test", "lines"),
        _extra_section(run_dir, "api-coverage.json", "API coverage, by operation", "lines"),
        f'<h2>Failures ({len(failures)})</h2><section id="failures">',
        "".join(_failure(o) for o in failures) or "<p>None.</p>",
        "</section><h2>Artifacts</h2>",
        _artifact_links(run_dir),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Interlock run {escape(run_dir.name)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_html(run_dir: Path) -> Path:
    """Render ``run_dir`` into its ``report.html`` (whole or not at all); returns the path."""
    path = run_dir / HTML_FILE
    tmp = path.with_name(f".{HTML_FILE}.{os.getpid()}")
    tmp.write_text(render_run(run_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path


@final
class HtmlWriter:
    """In the controller: gathers test outcomes, then writes tests.json and report.html.

    It writes when the run has a folder: one ``interlock run`` made, or one the SLO gate
    or a stack wrote to; a plain pytest session that produced nothing leaves nothing.
    Before the page, it folds the gates' reasons into the run's verdict (``verdict.json``,
    see ``interlock.report.verdict``), which the page's summary shows.
    """

    NAME = "interlock-html"

    def __init__(self, run: RunContext, config: pytest.Config) -> None:
        self.run = run
        self.outcomes = Outcomes()
        self.judge = Judge(config)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.outcomes.add(report)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.judge.keyboard_interrupt(excinfo)

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: after coverage is combined too
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield  # the SLO gate and every other writer first: the page shows their files
        if not self.run.run_dir.is_dir():
            # nothing of Interlock's ran (no stack, no SLO, no `interlock run`): the
            # session is pytest's alone, its exit status and JUnit file untouched
            return
        counts = self.outcomes.counts()
        verdict = self.judge.finish(session, counts["failed"] + counts["error"])
        write_verdict(self.run.run_dir, verdict)
        write_outcomes(self.outcomes.done, self.run.run_dir / TESTS_FILE)
        path = write_html(self.run.run_dir)
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(f"interlock: report in {path}")


def pytest_configure(config: pytest.Config) -> None:
    run = run_context(config)
    if run.worker is None:
        config.pluginmanager.register(HtmlWriter(run, config), HtmlWriter.NAME)
