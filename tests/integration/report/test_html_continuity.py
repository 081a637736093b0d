"""report.html's continuity matrix, as a reader sees it in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

MATRIX = [
    {"dependency": "redis", "workflow": "pay", "declared": "works", "measured": "works"},
    {
        "dependency": "redis",
        "workflow": "announce",
        "declared": "degrades",
        "measured": "degrades",
        "detail": "event queued",
    },
    {"dependency": "stripe", "workflow": "pay", "declared": "fails", "measured": "fails"},
    {
        "dependency": "stripe",
        "workflow": "announce",
        "declared": "works",
        "measured": "fails",
        "detail": "HTTP 503",
        # what the file claims is not trusted: the report compares for itself
        "matches": True,
    },
]


def test_the_continuity_matrix_shows_each_cell_and_marks_the_mismatch(
    pytester: pytest.Pytester, browser: Browser
) -> None:
    pytester.makepyfile(
        test_matrix=f"""
import json

def test_writes_the_matrix(interlock_run_dir):
    (interlock_run_dir / "continuity.json").write_text(json.dumps({MATRIX!r}))
"""
    )
    run_dir = pytester.path / "runs" / "the-run"
    pytester.runpytest(f"--interlock-run-dir={run_dir}").assert_outcomes(passed=1)

    page = browser.new_page()
    page.goto((run_dir / "report.html").as_uri())
    matrix = page.locator("#continuity table.continuity")
    assert [matrix.locator("thead th").nth(i).inner_text() for i in range(3)] == [
        "unavailable",
        "pay",
        "announce",
    ]
    assert matrix.locator("tbody tr").count() == 2
    assert matrix.locator("td.match").count() == 3
    mismatch = matrix.locator("td.mismatch")
    assert mismatch.count() == 1
    assert mismatch.get_attribute("data-dependency") == "stripe"
    assert mismatch.get_attribute("data-workflow") == "announce"
    assert "fails" in mismatch.inner_text()
    assert "declared works" in mismatch.inner_text()
    assert "HTTP 503" in mismatch.inner_text()
    assert "event queued" in matrix.locator('td[data-workflow="announce"].match').inner_text()
    summary = page.locator("#continuity-summary")
    assert summary.inner_text() == "1 of 4 cells differ from what was declared"
    assert summary.get_attribute("class") == "FAIL"
    assert page.locator('#artifacts a[href="continuity.json"]').count() == 1
