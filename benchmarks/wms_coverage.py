"""Acceptance 2 of the reports on WMS: ``--coverage`` measures its API and worker processes
and fails below the threshold; ``--api-coverage`` lists every operation of its OpenAPI spec.

    python benchmarks/wms_coverage.py [--project apps/wms] [--suite SUITE_OR_TEST_FILE]

Runs ``interlock --project PROJECT run SUITE --coverage --api-coverage`` once (by default
WMS's onboarding test file alone, so the run is below COVERAGE_THRESHOLD and must exit 1;
``--suite comprehensive`` for the whole run), then checks
the run folder and prints one line per claim:

- the exit status is 1 when the total is below the threshold (0 when at or above);
- ``coverage.xml`` holds files only the API process runs (``.../api/app.py``) and only
  the worker runs (``.../worker.py``), each with lines covered;
- ``api-coverage.json`` lists each operation of the spec the app served
  (``openapi.json``, kept in the run folder), no more and no fewer.

Exits 0 when every claim holds, 1 otherwise. It takes about 1.5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_ARTIFACTS = re.compile(r"^artifacts: (\S+)", re.MULTILINE)
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _spec_operations(spec: dict[str, object]) -> set[str]:
    paths = spec.get("paths", {})
    assert isinstance(paths, dict)
    return {
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if method in _METHODS
    }


def _measured(run_dir: Path) -> dict[str, float]:
    return {
        str(c.get("filename")): float(c.get("line-rate") or 0)
        for c in ET.parse(run_dir / "coverage.xml").iter("class")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=str(ROOT / "apps" / "wms"))
    parser.add_argument(
        "--suite",
        default=str(ROOT / "apps/wms/tests/integration/business/test_customer_onboarding.py"),
    )
    args = parser.parse_args()
    project = Path(args.project).resolve()
    command = ["interlock", "--project", str(project), "run", args.suite]
    command += ["--coverage", "--api-coverage"]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    print(f"run: exit {done.returncode} in {time.perf_counter() - began:.0f} s")
    found = _ARTIFACTS.search(done.stdout)
    if found is None:
        print("no run folder named in the output:\n" + done.stdout[-2000:] + done.stderr[-2000:])
        return 1
    run_dir = Path(found.group(1))
    run_dir = run_dir if run_dir.is_absolute() else (project / run_dir)
    claims: list[tuple[bool, str]] = []

    summary = json.loads((run_dir / "coverage.json").read_text())
    expected_exit = 0 if summary["ok"] else 1
    claims.append(
        (
            done.returncode == expected_exit,
            f"coverage {summary['total']:.1f}% against {summary['threshold']:g}%: "
            f"exit {done.returncode}, expected {expected_exit}",
        )
    )
    measured = _measured(run_dir)
    for role, suffix in (("API process", "/api/app.py"), ("worker process", "/worker.py")):
        hit = {name: rate for name, rate in measured.items() if name.endswith(suffix)}
        claims.append(
            (
                bool(hit) and all(rate > 0 for rate in hit.values()),
                f"{role}: {', '.join(f'{n} {r:.0%}' for n, r in hit.items()) or 'not measured'}",
            )
        )
    spec = _spec_operations(json.loads((run_dir / "openapi.json").read_text()))
    listed = {
        f"{op['method']} {op['path']}"
        for op in json.loads((run_dir / "api-coverage.json").read_text())["operations"]
    }
    claims.append(
        (
            listed == spec,
            f"API coverage lists {len(listed)} operations, the spec has {len(spec)}; "
            f"missing {sorted(spec - listed)}, extra {sorted(listed - spec)}",
        )
    )
    for ok, line in claims:
        print(f"{'ok  ' if ok else 'FAIL'} {line}")
    print(f"run folder: {run_dir}")
    return 0 if all(ok for ok, _ in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
