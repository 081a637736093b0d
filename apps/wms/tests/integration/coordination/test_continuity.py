"""Business continuity: each dependency unavailable in turn, measured against WMS's claims.

One test per dependency; each adds its row to the matrix in the run folder
(``continuity.md``, ``continuity.json``) and fails on any cell that differs from
``wms.continuity.EXPECTED``; once the dependency is back, what was queued meanwhile is
delivered and the invariants hold.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.helpers.continuity import Cell, Workflows, write_matrix
from tests.integration.helpers.factories import customer_payload
from tests.integration.helpers.invariants import violations, wait_until_delivered

from interlock.helpers.deadline import WaitTimeout, poll
from wms.continuity import DEPENDENCIES, EXPECTED, WORKFLOWS

pytestmark = pytest.mark.workflow

RUNS = 2  # runs of each workflow while the dependency is away: a cell is what they all did


@contextlib.contextmanager
def unavailable(dependency: str, faults: Any, sims: Any) -> Iterator[None]:
    """``dependency`` refuses every connection (servers) or answers 503 (providers)."""
    if dependency in ("postgres", "redis"):
        with faults[dependency].down():
            yield
    else:
        with sims[dependency].failing(status=503):
            yield


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_losing_a_dependency_does_what_wms_declares(
    dependency, api, db, faults, sims, interlock_run_dir
):
    admin, billing = api.as_role("admin"), api.as_role("billing")

    def onboarded() -> dict[str, Any] | None:
        response = admin.post("/api/v1/customers", json=customer_payload())
        return response.json() if response.status_code == 201 else None

    # a breaker an earlier test opened (Stripe's) closes again on its own
    customer = poll(onboarded, timeout=30, what="a paying customer to be onboarded")
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

    # everything works first (breakers an earlier test opened are closed again)
    try:
        poll(
            lambda: flows.all_work(
                WORKFLOWS, {"read_invoice": invoices(1), "pay_invoice": invoices(1)}
            ),
            timeout=30,
            what=f"every workflow to work before {dependency} goes",
        )
    except WaitTimeout as exc:
        raise AssertionError(f"{exc}; still not working: {flows.last_failures}") from None
    prepared = {"read_invoice": invoices(RUNS), "pay_invoice": invoices(RUNS)}
    measured: dict[str, list[tuple[str, str]]] = {w: [] for w in WORKFLOWS}
    with unavailable(dependency, faults, sims):
        for _ in range(RUNS):
            for workflow in WORKFLOWS:
                measured[workflow].append(flows.run(workflow, prepared))
    cells = []
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
    assert [c for c in cells if not c.matches] == [], as_md.read_text()
    # what was queued while the dependency was away is delivered, and nothing is broken
    delivered = wait_until_delivered(lambda: db.connection)
    assert violations(db.connection, delivered_before=delivered) == []
