"""Stream B's advice meets Stream D's configuration: a recommendation that needs a migration
is applied only after a configuration version acknowledges it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.helpers.factories import many_invoices

pytestmark = pytest.mark.workflow


def index_recommendation(admin: Any) -> dict[str, Any]:
    response = admin.get("/api/v1/coordination/recommendations")
    assert response.status_code == 200, response.text
    found = [
        r
        for r in response.json()
        if r["kind"] == "missing_index" and r["advice"].startswith("index invoices on")
    ]
    assert len(found) == 1, response.json()
    return dict(found[0])


def test_a_migration_is_refused_until_the_configuration_acknowledges_it_then_applied(api, db, slo):
    admin = api.as_role("admin")
    # enough invoices that listing the newest means sorting them all without an index
    customer_id = many_invoices(admin, db, 20_000)
    before = admin.get("/api/v1/config").json()["active"]["document"]
    index_id = None
    try:
        for _ in range(3):
            assert admin.get("/api/v1/invoices").status_code == 200
        advised = index_recommendation(admin)
        index_id = advised["id"]
        assert advised["migration"].startswith(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index_id}"'
        )
        apply = f"/api/v1/coordination/recommendations/{index_id}/apply"

        with slo("performance_metrics"):
            refused = admin.post(apply)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "migration_not_acknowledged"
        assert db.count("pg_indexes", "indexname = %s", (index_id,)) == 0

        # the acknowledgement is a configuration version like any other: validated, kept
        # with its author and reason, propagated
        acknowledged = admin.put(
            "/api/v1/config",
            json={
                "document": {**before, "acknowledged_migrations": [index_id]},
                "reason": f"index {index_id} reviewed",
            },
        )
        assert acknowledged.status_code == 200, acknowledged.text
        with slo("performance_metrics"):
            applied = admin.post(apply)
        assert applied.status_code == 200, applied.text
        assert applied.json()["applied"] == advised["migration"]
        assert applied.json()["acknowledged_in_version"] == acknowledged.json()["version"]
        assert db.count("pg_indexes", "indexname = %s", (index_id,)) == 1
        # the plan uses it now: the evidence, and so the recommendation, is gone
        assert admin.post(apply).status_code == 404
    finally:
        if index_id is not None:
            db.query(f'DROP INDEX IF EXISTS "{index_id}"')  # its name passed MIGRATION_ID
        db.query("DELETE FROM invoices WHERE customer_id = %s", (customer_id,))
        restored = admin.put("/api/v1/config", json={"document": before, "reason": "test done"})
        assert restored.status_code == 200, restored.text
