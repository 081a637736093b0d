"""The WMS API against its own OpenAPI spec: Schemathesis generates requests for every
operation (at least 50 each, authenticated) and runs all of its checks on the answers.

Schemathesis runs as its command-line tool, as a CI job would run it, against the live
stack. It draws from the run's seed (printed at the start; ``--interlock-seed N`` replays
a run), and keeps its report and Hypothesis's example database in the run folder, so a
failing example found once is tried first when that folder is reused and never lands in
the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.business


CONFIG = Path(__file__).parents[1] / "schemathesis.toml"
#: examples per operation; ``interlock run --fuzz-examples N`` sets it (deeper for a
#: nightly run), never below the 50 this suite has always run
EXAMPLES = max(50, int(os.environ.get("INTERLOCK_FUZZ_EXAMPLES") or 50))


# 50 examples of each of ~40 operations: minutes on a loaded machine, not seconds
@pytest.mark.integration_timeout(300_000)
def test_every_operation_honours_its_schema(stack, api, interlock_seed, interlock_run_dir):
    folder = interlock_run_dir / "schemathesis"
    folder.mkdir(parents=True, exist_ok=True)
    st = shutil.which("st") or str(Path(sys.executable).parent / "st")
    token = api.as_role("admin").headers["Authorization"]
    result = subprocess.run(
        [
            st,
            "--config-file",
            str(CONFIG),
            "run",
            f"{stack.app_url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--header",
            f"Authorization: {token}",
            "--seed",
            str(interlock_seed),
            "--generation-database",
            str(folder / "examples.db"),
            "--workers",
            "2",
            "--report",
            "junit",
            "--report-dir",
            str(folder),
            "--no-color",
            "--suppress-health-check",
            "all",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=folder,  # whatever else it keeps lands in the run folder too
    )
    (folder / "output.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (
        f"seed {interlock_seed}\n" + result.stdout[-6000:] + result.stderr[-2000:]
    )
