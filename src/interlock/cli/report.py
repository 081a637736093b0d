"""``interlock report merge RUN... | html RUN``: combine CI shards' run folders; render a page.

Also the reporting options of ``interlock run`` (``--shard``, ``--repeat``, ``--coverage``,
``--fail-on-regression``). The writers import pytest: they are imported when a command
needs them, so that ``interlock`` itself starts without it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from interlock.cli._common import resolve_run, short
from interlock.config import Config
from interlock.errors import UsageError
from interlock.runs import MARKER, is_run_dir, mark_run_dir, new_run_dir

__all__ = ["add_report_parser", "cmd_merge"]


def cmd_merge(args: argparse.Namespace, config: Config) -> int:
    """Exit 0 when the merged run passed (every test, every SLO), 1 when it did not."""
    from interlock.report.merge import check_runs, merge_runs

    runs = [resolve_run(config, run) for run in args.runs]
    check_runs(runs)
    out: Path | None = args.out
    existed = out is not None and out.exists()
    if out is not None and existed:
        if not out.is_dir():
            raise UsageError(f"--out {out}: not a folder", hint="name a new folder")
        if any(out.iterdir()):
            raise UsageError(f"--out {out}: not empty", hint="name a new folder")
    # the inputs are checked by merge_runs before it writes; an output folder made for a
    # merge that then refuses is removed, so a bad input leaves nothing behind
    made = out if out is not None else new_run_dir(config.artifacts, create=False)
    mark_run_dir(made)
    try:
        page, notes = merge_runs(
            runs,
            made,
            coverage_threshold=config.thresholds.coverage_threshold,
            root=config.root,
        )
    except UsageError:
        if existed:  # the user's own empty folder: emptied again, everything in it ours
            for entry in made.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        else:
            shutil.rmtree(made)  # made (and marked) above, by this command
        raise
    for note in notes:
        print(note)
    print(f"merged {len(runs)} runs into {short(made)}; report: {short(page)}")
    return 0 if _passed(made) else 1


def _passed(run: Path) -> bool:
    """Judge the merged run once, write its verdict.json and show it on its page."""
    from interlock.report.html import write_html
    from interlock.report.verdict import judge_merged, write_verdict

    listed = run / "merged-from"
    shards = [Path(line) for line in listed.read_text(encoding="utf-8").splitlines() if line]
    try:
        verdict = judge_merged(run, shards)
    except ValueError as exc:
        raise UsageError(f"cannot judge the merged run: {exc}") from None
    write_verdict(run, verdict)
    write_html(run)  # its summary shows the verdict just written
    print(f"interlock: {verdict.line()}")
    return verdict.status == "PASS"


#: the files a run leaves that a report is made of
RESULT_FILES = ("slo.json", "junit.xml", "tests.json", "load.json")


def cmd_html(args: argparse.Namespace, config: Config) -> int:
    """Write RUN's report.html; refuse (UsageError) a folder that holds no run's results.

    A report.html already there is replaced only in a folder Interlock marked as a run
    folder: anywhere else it may be someone's own file.
    """
    from interlock.report.html import write_html

    run = resolve_run(config, args.run)
    if not any((run / name).is_file() for name in RESULT_FILES):
        # an empty page would read PASS for a folder holding no run
        raise UsageError(
            f"{run}: holds no {', '.join(RESULT_FILES[:-1])} or {RESULT_FILES[-1]}: "
            "not a run to report on",
            hint="name a run folder ('interlock runs list')",
        )
    page = run / "report.html"
    if (page.exists() or page.is_symlink()) and not is_run_dir(run):
        raise UsageError(
            f"{page}: exists and {run} is not a run folder Interlock marked (no {MARKER}); "
            "not overwriting it",
            hint="move report.html away to write a new one",
        )
    print(short(write_html(run)))
    return 0


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="merge the run folders of CI shards; render a run's report.html",
        description="Work on run folders after the fact.",
    )
    report.set_defaults(handler=None, usage_of=report)
    actions = report.add_subparsers(dest="action", metavar="ACTION", parser_class=type(report))
    merge = actions.add_parser(
        "merge",
        help="combine shards' JUnit, SLO aggregates (exactly) and tests into one run",
        description="Combine the run folders of 'interlock run --shard I/N' into one: "
        "junit.xml, slo.json (aggregates merged exactly, verdicts judged again), tests.json, "
        "coverage (judged at COVERAGE_THRESHOLD) and report.html.\n\nThe shards named must be "
        "each of 1..N once, of one split (each shard's shard.json says which it is); a run "
        "folder or run id named twice, or a merged run, is refused. Runs that are not "
        "shards merge as they are, with a note for a test that ran in two of them."
        "\n\nExit status: 0 the "
        "merged run passed; 1 a test failed, an SLO was breached or coverage is below the "
        "threshold; 2 bad input (nothing is written).",
        epilog="example:\n  interlock report merge shard-1/ shard-2/ --out merged/",
    )
    merge.add_argument(
        "runs", nargs="+", metavar="RUN", help="a shard's run folder or run id (runs list)"
    )
    merge.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the merged run goes (default: a new run folder in the artifacts folder)",
    )
    merge.set_defaults(handler=cmd_merge)
    html = actions.add_parser(
        "html",
        help="(re)write a run folder's report.html",
        description="Write report.html from a run folder's results (slo.json, junit.xml, "
        "tests.json, load.json). A folder holding none is refused, and a report.html "
        "is replaced only in a run folder Interlock marked.\n\nExit status: 0 written; "
        "2 bad input (nothing is written).",
    )
    html.add_argument("run", metavar="RUN", help="a run folder or run id (runs list)")
    html.set_defaults(handler=cmd_html)


def _shard(text: str) -> str:
    """Checked by the parser, so a bad value is refused before a run folder is made."""
    from interlock.plugin.shard import parse_shard  # pytest loads only in the child

    try:
        parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--shard {text!r}: ")) from None
    return text


def _durations_file(text: str) -> Path:
    """Read by the parser, so a bad file is refused before a run folder is made."""
    from interlock.plugin.shard import past_durations  # pytest loads only in the child

    try:
        past_durations(Path(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def _rounds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of rounds (1 or more), got {text!r}")
    return int(text)


def add_run_report_options(run: argparse.ArgumentParser) -> None:
    """The reporting options of ``interlock run``, handed on to pytest as they are."""
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="run only shard I of N (CI matrix): a deterministic split, round-robin by "
        "test id unless --shard-durations names a file",
    )
    run.add_argument(
        "--shard-durations",
        type=_durations_file,
        metavar="FILE",
        help="tests.json of an earlier run whose durations balance --shard; give every "
        "shard the same file",
    )
    run.add_argument(
        "--repeat",
        type=_rounds,
        metavar="N",
        help="run every test N times in new orders and report the flaky ones",
    )
    run.add_argument(
        "--coverage",
        action="store_true",
        help="measure the app and its services with coverage.py; exit 1 below "
        "COVERAGE_THRESHOLD (85%%)",
    )
    run.add_argument(
        "--api-coverage",
        action="store_true",
        help="list which of the app's OpenAPI operations and responses the suites exercised",
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="sample the app and its services with py-spy; flame graphs in the run folder",
    )
    run.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a workflow regressed against the baseline (interlock baseline save)",
    )


def run_report_args(args: argparse.Namespace) -> list[str]:
    """pytest's options for the reporting options of ``interlock run``.

    Raises UsageError for options that make no sense together; call it before anything
    of the run is made.
    """
    if args.shard_durations is not None and args.shard is None:
        # it would be ignored, and the whole suite run
        raise UsageError("--shard-durations needs --shard I/N (it balances the shards)")
    passed: list[str] = []
    if args.shard is not None:
        passed += ["--shard", args.shard]
    if args.shard_durations is not None:
        passed += ["--shard-durations", str(args.shard_durations.resolve())]
    if args.repeat is not None:
        passed += ["--repeat", str(args.repeat)]
    if args.fail_on_regression:
        passed.append("--fail-on-regression")
    if args.coverage:
        passed.append("--coverage")
    if args.api_coverage:
        passed.append("--api-coverage")
    if args.profile:
        passed.append("--profile")
    return passed
