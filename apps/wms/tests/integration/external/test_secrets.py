"""No API key of any external service shows up in logs, journals or API answers."""

from __future__ import annotations

import json

import pytest
from tests.integration.helpers.factories import customer_payload

pytestmark = pytest.mark.external

SECRET_NAMES = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def test_api_keys_appear_in_no_log_journal_or_answer(api, interlock_config, stack, sims):
    secrets = {
        value
        for name, value in interlock_config.app.env.items()
        if any(part in name for part in SECRET_NAMES) and len(value) >= 8
    }
    assert len(secrets) >= 5  # the check below must have something to find
    admin = api.as_role("admin")
    # exercise every adapter that holds a key, including failures that get logged
    assert admin.post("/api/v1/customers", json=customer_payload()).status_code == 201
    with sims["stripe"].failing(status=401, times=3):
        admin.post("/api/v1/customers", json=customer_payload())
    places = {
        "integrations": admin.get("/api/v1/integrations").text,
        "openapi": api.get("/openapi.json").text,
    }
    for name, client in sims.items():
        places[f"journal:{name}"] = json.dumps(client.journal())
    for log in stack.log_dir.glob("*.log"):
        places[f"log:{log.name}"] = log.read_text(errors="replace")
    leaks = [
        (where, secret[:6] + "...")
        for where, text in places.items()
        for secret in secrets
        if secret in text
    ]
    assert leaks == []
