"""The continuity matrix: run WMS's workflows while one dependency is unavailable.

Each workflow run returns an outcome of ``wms.continuity.Outcome`` and a one-line detail;
``write_matrix`` writes the measured matrix beside the declared one as
``continuity.json`` and ``continuity.md`` in the run folder.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import WaitTimeout

__all__ = ["Cell", "Workflows", "write_matrix"]

#: how long an event may take to be published before it counts as queued (s); generous,
#: so a busy machine is not mistaken for a lost dependency
PUBLISH_BOUND = 10.0


def refused(response: Any) -> tuple[str, str]:
    """A failed run: a refusal (502-504, the request may be sent again) fails; anything
    else (a 500: WMS did not know what happened) breaks, which no declaration allows."""
    if response.status_code in (502, 503, 504):
        return "fails", f"HTTP {response.status_code} {response.json()['error']['code']}"
    return "breaks", f"HTTP {response.status_code}"


@dataclass(frozen=True)
class Cell:
    dependency: str
    workflow: str
    declared: str
    measured: str
    detail: str

    @property
    def matches(self) -> bool:
        return self.declared == self.measured


class Workflows:
    """WMS's workflows, as an outside client runs them; each returns (outcome, detail)."""

    def __init__(self, admin: Any, billing: Any, db: Any, customer_id: str) -> None:
        self.admin, self.billing, self.db, self.customer_id = admin, billing, db, customer_id
        self._day = 0
        self.last_failures: dict[str, tuple[str, str]] = {}

    def invoice(self) -> Any:
        """The response to creating an open invoice of the paying customer."""
        self._day += 1
        response = self.billing.post(
            "/api/v1/invoices",
            json={
                "customer_id": self.customer_id,
                "period_start": str(date.fromordinal(date(2031, 1, 1).toordinal() + self._day)),
                "period_days": 1,
                "amount_cents": 2500,
            },
        )
        return response

    def onboard_customer(self) -> tuple[str, str]:
        response = self.admin.post("/api/v1/customers", json=customer_payload())
        if response.status_code != 201:
            return refused(response)
        failed = [n["channel"] for n in response.json()["notifications"] if n["status"] != "sent"]
        if failed:
            return "degrades", f"onboarded; {', '.join(failed)} marked failed"
        return "works", "onboarded, welcome sent"

    def read_invoice(self, invoice_id: str) -> tuple[str, str]:
        response = self.billing.get(f"/api/v1/invoices/{invoice_id}")
        if response.status_code == 200:
            return "works", "read"
        return refused(response)

    def pay_invoice(self, invoice_id: str) -> tuple[str, str]:
        response = self.billing.post(
            f"/api/v1/invoices/{invoice_id}/pay",
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
        if response.status_code == 200 and response.json()["status"] == "succeeded":
            return "works", "charged"
        return refused(response)

    def announce_invoice(self) -> tuple[str, str]:
        response = self.invoice()
        if response.status_code != 201:
            return refused(response)
        invoice_id = response.json()["id"]
        try:
            self.db.wait_for_row(
                "SELECT 1 FROM outbox WHERE type = 'invoice.created' "
                "AND payload->'data'->>'invoice_id' = %s AND published_at IS NOT NULL",
                (invoice_id,),
                timeout=PUBLISH_BOUND,
            )
        except WaitTimeout:
            return "degrades", "created; event queued in the outbox"
        return "works", "created, event published"

    def run(self, workflow: str, prepared: dict[str, list[str]]) -> tuple[str, str]:
        """One run of ``workflow``; invoices it needs come from ``prepared`` (made beforehand)."""
        if workflow in ("read_invoice", "pay_invoice"):
            step: Callable[[str], tuple[str, str]] = getattr(self, workflow)
            return step(prepared[workflow].pop())
        return getattr(self, workflow)()  # type: ignore[no-any-return]

    def all_work(self, workflows: tuple[str, ...], prepared: dict[str, list[str]]) -> bool:
        """Whether every workflow works now (the baseline before each dependency is taken);
        ``last_failures`` then names those that did not."""
        runs = {w: self.run(w, prepared) for w in workflows}
        self.last_failures = {w: run for w, run in runs.items() if run[0] != "works"}
        return not self.last_failures


def write_matrix(new: list[Cell], run_dir: Path) -> tuple[Path, Path]:
    """Add ``new`` cells to ``continuity.json`` and rewrite ``continuity.md`` from it
    (dependency rows, workflow columns); a cell measured again replaces the older one."""
    run_dir.mkdir(parents=True, exist_ok=True)
    as_json = run_dir / "continuity.json"
    known = json.loads(as_json.read_text()) if as_json.is_file() else []
    fresh = {(c.dependency, c.workflow) for c in new}
    cells = [
        Cell(**{k: v for k, v in row.items() if k != "matches"})
        for row in known
        if (row["dependency"], row["workflow"]) not in fresh
    ] + new
    as_json.write_text(
        json.dumps([{**asdict(c), "matches": c.matches} for c in cells], indent=2) + "\n"
    )
    workflows = list(dict.fromkeys(c.workflow for c in cells))
    dependencies = list(dict.fromkeys(c.dependency for c in cells))
    by = {(c.dependency, c.workflow): c for c in cells}
    lines = [
        "# Continuity matrix",
        "",
        "Each dependency made unavailable in turn; each cell is measured (declared).",
        "",
        "| unavailable | " + " | ".join(workflows) + " |",
        "|---" * (len(workflows) + 1) + "|",
    ]
    for dependency in dependencies:
        row = []
        for workflow in workflows:
            cell = by[(dependency, workflow)]
            mark = "" if cell.matches else " **MISMATCH**"
            row.append(f"{cell.measured} ({cell.declared}){mark}: {cell.detail}")
        lines.append(f"| {dependency} | " + " | ".join(row) + " |")
    as_md = run_dir / "continuity.md"
    as_md.write_text("\n".join(lines) + "\n")
    return as_json, as_md
