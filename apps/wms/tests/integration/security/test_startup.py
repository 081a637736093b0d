"""WMS refuses to start on a missing, short or publicly known secret, with one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.security

GOOD = "a-proper-secret-of-forty-characters-0123"
APP = [sys.executable, "-m", "uvicorn", "wms.api.app:create_app", "--factory", "--port", "0"]
WORKER = [sys.executable, "-m", "wms.worker"]


@pytest.mark.parametrize(
    ("command", "secrets", "says"),
    [
        (APP, {"WMS_ENCRYPTION_KEY": GOOD[::-1]}, "WMS_JWT_SECRET is not set"),
        (WORKER, {"WMS_ENCRYPTION_KEY": GOOD[::-1]}, "WMS_JWT_SECRET is not set"),
        (APP, {"WMS_JWT_SECRET": "short", "WMS_ENCRYPTION_KEY": GOOD[::-1]}, "at least 32"),
        (
            APP,
            {"WMS_JWT_SECRET": "change-me-in-production-0123456789", "WMS_ENCRYPTION_KEY": GOOD},
            "publicly known",
        ),
        (APP, {"WMS_JWT_SECRET": GOOD}, "WMS_ENCRYPTION_KEY is not set"),
        (APP, {"WMS_JWT_SECRET": GOOD, "WMS_ENCRYPTION_KEY": GOOD}, "must differ"),
    ],
    ids=["missing", "missing-worker", "short", "known-default", "no-encryption-key", "same"],
)
def test_wms_refuses_to_start_without_a_proper_secret(command, secrets, says):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMS_")}
    # nothing it could reach: a start that got past the settings would fail differently
    env.update(secrets, WMS_DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("wms: refusing to start:")
    assert says in lines[0]
