"""Business continuity: each dependency unavailable in turn, measured against WMS's claims.

The measured matrix is written to the run folder (``continuity.md``, ``continuity.json``);
any cell that differs from ``wms.continuity.EXPECTED`` fails the test, and once every
dependency is back the invariants hold and everything queued was delivered.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.helpers.continuity import Cell, Workflows, write_matrix
from tests.integration.helpers.factories import customer_payload
from tests.integration.helpers.invariants import violations, wait_until_delivered

from interlock.helpers.deadline import poll
from wms.continuity import DEPENDENCIES, EXPECTED, WORKFLOWS

pytestmark = pytest.mark.workflow

RUNS = 2  # runs of each workflow per dependency: a cell is what they all did


@contextlib.contextmanager
def unavailable(dependency: str, faults: Any, sims: Any) -> Iterator[None]:
    """``dependency`` refuses every connection (servers) or answers 503 (providers)."""
    if dependency in ("postgres", "redis"):
        with faults[dependency].down():
            yield
    else:
        with sims[dependency].failing(status=503):
            yield


def test_each_dependency_lost_in_turn_matches_the_declared_continuity(
    api, db, faults, sims, interlock_run_dir
):
    admin, billing = api.as_role("admin"), api.as_role("billing")
    customer = admin.post("/api/v1/customers", json=customer_payload()).json()
    swap = billing.put(
        f"/api/v1/customers/{customer['id']}/payment-method",
        json={"payment_method": "pm_card_visa"},
    )
    assert swap.status_code == 204, swap.text
    flows = Workflows(admin, billing, db, customer["id"])

    def invoices(n: int) -> list[str]:
        made = [flows.invoice() for _ in range(n)]
        assert all(r.status_code == 201 for r in made), [r.text for r in made]
        return [r.json()["id"] for r in made]

    cells: list[Cell] = []
    for dependency in DEPENDENCIES:
        # everything works again before the next dependency goes (breakers closed)
        poll(
            lambda: flows.all_work(
                WORKFLOWS, {"read_invoice": invoices(1), "pay_invoice": invoices(1)}
            ),
            timeout=60,
            what=f"every workflow to work before {dependency} goes",
        )
        prepared = {"read_invoice": invoices(RUNS), "pay_invoice": invoices(RUNS)}
        measured: dict[str, list[tuple[str, str]]] = {w: [] for w in WORKFLOWS}
        with unavailable(dependency, faults, sims):
            for _ in range(RUNS):
                for workflow in WORKFLOWS:
                    measured[workflow].append(flows.run(workflow, prepared))
        for workflow, runs in measured.items():
            outcomes = sorted({outcome for outcome, _ in runs})
            cells.append(
                Cell(
                    dependency=dependency,
                    workflow=workflow,
                    declared=EXPECTED[dependency][workflow],
                    measured=outcomes[0] if len(outcomes) == 1 else "mixed: " + "/".join(outcomes),
                    detail="; ".join(sorted({detail for _, detail in runs})),
                )
            )
    as_json, as_md = write_matrix(cells, interlock_run_dir)
    assert as_json.is_file()
    assert as_md.is_file()
    assert [c for c in cells if not c.matches] == [], as_md.read_text()
    # what was queued while a dependency was away is delivered, and nothing is broken
    wait_until_delivered(lambda: db.connection)
    assert violations(db.connection) == []
