"""Wall time of WMS's comprehensive suite under ``interlock run``: default settings and ``-n 0``.

    python benchmarks/suite_wall.py [--project apps/wms] [--suite comprehensive]
                                    [--variant default --variant "-n 0" ...]

Each variant runs once, one after the other, in this process's environment. Prints, side
by side: wall time (s, start-up included), tests run, failures, the time spent starting
stacks (s, summed over workers, from the run folder's ``durations.json``) and each
variant's wall time as a ratio of the first. On a shared machine the absolute figures are
noisy; the ratios, from one sitting, are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_ARTIFACTS = re.compile(r"^artifacts: (\S+)", re.MULTILINE)


@dataclass
class Outcome:
    variant: str
    wall_s: float
    tests: int
    failures: int
    startup_s: float | None
    status: int


def run_variant(project: Path, suite: str, variant: str) -> Outcome:
    extra = [] if variant == "default" else shlex.split(variant)
    command = ["interlock", "--project", str(project), "run", suite, *extra]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - began
    found = _ARTIFACTS.search(done.stdout)
    tests = failures = 0
    startup: float | None = None
    if found:
        run_dir = (ROOT / found.group(1)).resolve()
        if not run_dir.is_dir():
            run_dir = (project / found.group(1)).resolve()
        junit = run_dir / "junit.xml"
        if junit.is_file():
            for suite_el in ET.parse(junit).getroot().iter("testsuite"):
                tests += int(suite_el.get("tests", 0)) - int(suite_el.get("skipped", 0))
                failures += int(suite_el.get("failures", 0)) + int(suite_el.get("errors", 0))
        durations = run_dir / "durations.json"
        if durations.is_file():
            phases = json.loads(durations.read_text())["startup"]
            startup = sum(phase["seconds"] for phase in phases)
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
    return Outcome(variant, wall, tests, failures, startup, done.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, default=ROOT / "apps" / "wms")
    parser.add_argument("--suite", default="comprehensive")
    parser.add_argument("--variant", action="append", help='"default" or interlock run options')
    args = parser.parse_args()
    variants = args.variant or ["default", "-n 0"]
    outcomes = []
    for variant in variants:
        print(f"running {args.suite} ({variant}) ...", file=sys.stderr, flush=True)
        outcomes.append(run_variant(args.project.resolve(), args.suite, variant))
    first = outcomes[0].wall_s
    heads = ("wall s", "ratio", "tests", "failed", "start-up s")
    print(f"{'variant':<14} {heads[0]:>8} {heads[1]:>6} {heads[2]:>6} {heads[3]:>6} {heads[4]:>10}")
    for o in outcomes:
        startup = f"{o.startup_s:.1f}" if o.startup_s is not None else "?"
        print(
            f"{o.variant:<14} {o.wall_s:8.1f} {o.wall_s / first:6.2f} {o.tests:6d} "
            f"{o.failures:6d} {startup:>10}"
        )
    return 0 if all(o.status in (0, 1) for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
