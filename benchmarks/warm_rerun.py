"""End-to-end time of re-running one test file on a warm stack, and where it goes.

    interlock env up &                      # in the project, once
    python benchmarks/warm_rerun.py FILE [--project apps/wms] [--repeat 5]

``FILE`` is a test file of the project (relative to it). Each repetition runs, one after
the other, in this process's environment:

    cli start-up   ``interlock run --help``: the command's own start-up (its imports,
                   the project's configuration, the parser), before it starts pytest
    collection     pytest in a child interpreter, as ``interlock run`` starts it, with
                   ``--collect-only``: interpreter, pytest, Interlock's plugin, the
                   project's conftests and the file's imports
    end to end     ``interlock run FILE --attach``: everything a developer waits for

and reads the run folder's ``durations.json`` for the state reset (``attach: reset``) and
the tests (setup, call and teardown, summed). ``rest`` is what the end-to-end time holds
beyond the parts measured (the run's own spawn, session start and end, reports);
the first two parts are measured in processes of their own, so on a busy machine
``rest`` can come out below zero. Prints
each part's median and minimum over the repetitions, in seconds, and the load average:
on a shared machine the absolute figures are noisy, and CPU seconds (user + sys, of the
end-to-end run and its children) are steadier than wall time. With
``PYTHONDONTWRITEBYTECODE`` set no bytecode is cached: every run compiles the project's
and Interlock's modules again (pytest rewrites the asserts of Interlock's), which the
figures then include; the script says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_ARTIFACTS = re.compile(r"^artifacts: (\S+)", re.MULTILINE)
#: what ``interlock run`` runs as the child (kept in step with ``interlock.cli.run``)
_PYTEST = "import sys, pytest; sys.exit(pytest.main())"
PARTS = ("cli start-up", "collection", "reset", "tests", "rest", "end to end", "cpu s")


@dataclass
class Sample:
    parts: dict[str, float] = field(default_factory=dict)


def _timed(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall s, CPU s of the command and its children, the completed process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def _fail(what: str, done: subprocess.CompletedProcess[str]) -> None:
    sys.stderr.write(
        f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    raise SystemExit(1)


def sample(project: Path, test_file: str) -> Sample:
    """One repetition: the parts, in seconds."""
    got = Sample()
    wall, _, done = _timed(["interlock", "run", "--help"], project)
    if done.returncode:
        _fail("interlock run --help", done)
    got.parts["cli start-up"] = wall
    collect = [sys.executable, "-P", "-c", _PYTEST, test_file, "--collect-only", "-q"]
    wall, _, done = _timed(collect, project)
    if done.returncode:
        _fail("collection", done)
    got.parts["collection"] = wall
    wall, cpu, done = _timed(["interlock", "run", test_file, "--attach"], project)
    found = _ARTIFACTS.search(done.stdout)
    if done.returncode or not found:
        _fail("interlock run --attach", done)
    assert found is not None
    durations = json.loads((project / found.group(1) / "durations.json").read_text())
    got.parts["reset"] = sum(p["seconds"] for p in durations["startup"])
    got.parts["tests"] = sum(t["seconds"] for t in durations["tests"])
    measured = sum(got.parts[p] for p in ("cli start-up", "collection", "reset", "tests"))
    got.parts["rest"] = wall - measured
    got.parts["end to end"] = wall
    got.parts["cpu s"] = cpu
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="a test file, relative to the project")
    parser.add_argument("--project", type=Path, default=ROOT / "apps" / "wms")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    project = args.project.resolve()
    if not (project / args.file).is_file():
        print(f"warm_rerun: no test file {args.file} in {project}", file=sys.stderr)
        return 2
    samples = []
    for number in range(args.repeat):
        print(f"run {number + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
        samples.append(sample(project, args.file))
    print(f"{args.file}: {args.repeat} warm re-runs, load average {os.getloadavg()[0]:.1f}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # every interpreter then compiles (and pytest rewrites) Interlock's modules afresh
        print("PYTHONDONTWRITEBYTECODE is set: no bytecode cache, every run compiles")
    print(f"{'part':<12} {'median s':>9} {'min s':>7}")
    for part in PARTS:
        values = [s.parts[part] for s in samples]
        print(f"{part:<12} {statistics.median(values):9.2f} {min(values):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
