"""What a plain ``pip install interlock`` brings into a user's environment.

Resolved by pip itself (``--dry-run --ignore-installed --report``), as a fresh venv would
install it: the framework must stay lean and must never bring the system it was built on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: every distribution WMS depends on that the framework has no use for
WMS_ONLY = {
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "pydantic",
    "pydantic-settings",
    "email-validator",
    "pyjwt",
    "stripe",
    "twilio",
    "sendgrid",
    "pybreaker",
    "tenacity",
    "vt-py",
    "pymisp",
    "greynoise",
    "otxv2",
    "samsara-api",
    "pyairtable",
    "googlemaps",
    "wms",
}


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    report = tmp_path_factory.mktemp("pip") / "report.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    data = json.loads(report.read_text())
    return {item["metadata"]["name"].lower() for item in data["install"]}


def test_a_plain_install_brings_at_most_40_packages(resolved):
    assert len(resolved) <= 40, sorted(resolved)


def test_a_plain_install_brings_nothing_of_wms(resolved):
    assert resolved & WMS_ONLY == set()


def test_xdist_comes_with_the_framework_because_n_is_a_feature(resolved):
    assert "pytest-xdist" in resolved
