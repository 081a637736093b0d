"""The WMS API against its own OpenAPI spec: Schemathesis generates requests for every
operation (at least 50 each, authenticated) and runs all of its checks on the answers.

Schemathesis runs as its command-line tool, as a CI job would run it, against the live
stack; its report goes to the run folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.business


CONFIG = Path(__file__).parents[1] / "schemathesis.toml"


# 50 examples of each of ~40 operations: minutes on a loaded machine, not seconds
@pytest.mark.integration_timeout(300_000)
def test_every_operation_honours_its_schema(stack, api, tmp_path):
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
            "50",
            "--header",
            f"Authorization: {token}",
            "--seed",
            "1",
            "--workers",
            "2",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
            "--no-color",
            "--suppress-health-check",
            "all",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
