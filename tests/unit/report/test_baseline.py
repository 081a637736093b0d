"""Each workflow against a baseline: an injected 300 ms is a regression, healthy runs are not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

# imported before any in-process pytester run: pytester restores sys.modules after each,
# and numpy's extension modules cannot be loaded a second time in one process
import scipy.stats  # noqa: F401

from interlock.cli import main
from interlock.report.baseline import compare, compare_documents
from interlock.slo.aggregate import Aggregate

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false
simulators = ["twilio"]
"""

#: 30 real calls to a simulator process, each timed as a run of "sms"
SUITE = """
import httpx

def test_sms(stack, slo):
    url = stack.simulators["twilio"] + "/2010-04-01/Accounts/AC0/Messages.json"
    with httpx.Client() as client:
        for _ in range(30):
            with slo("sms"):
                client.get(url)
"""


def _run(pytester: pytest.Pytester, name: str, *args: str) -> tuple[int, Path]:
    run_dir = pytester.path / "runs" / name
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}", "--fail-on-regression", *args)
    return int(result.ret), run_dir


def _verdict(run_dir: Path) -> str:
    document = json.loads((run_dir / "regressions.json").read_text())
    (comparison,) = document["comparisons"]
    return str(comparison["verdict"])


def test_injected_latency_regresses_and_ten_healthy_runs_are_unchanged(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_sms=SUITE)
    first = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'runs' / 'healthy'}")
    first.assert_outcomes(passed=1)
    assert (
        main(
            [
                "--project",
                str(pytester.path),
                "baseline",
                "save",
                str(pytester.path / "runs" / "healthy"),
            ]
        )
        == 0
    )

    verdicts = []
    for i in range(10):
        code, run_dir = _run(pytester, f"again-{i}")
        verdicts.append(_verdict(run_dir))
        assert code == 0, verdicts
    assert verdicts == ["unchanged"] * 10

    code, run_dir = _run(pytester, "slow", "--sim-fault", "twilio:latency=300")
    assert _verdict(run_dir) == "regressed"
    assert code == pytest.ExitCode.TESTS_FAILED
    assert "regressed" in (run_dir / "report.html").read_text()


def _aggregate(rng: random.Random, median_ms: float, n: int, slowdown: float = 1.0) -> Aggregate:
    aggregate = Aggregate()
    for _ in range(n):
        aggregate.record(rng.lognormvariate(0, 0.3) * median_ms * slowdown, ok=True)
    return aggregate


def test_a_busy_machine_slowing_a_healthy_run_by_15_percent_is_not_a_regression() -> None:
    """The noise guard: with 2000 samples a 15 % shift is 'significant', yet not a regression."""
    rng = random.Random(5)
    for _ in range(10):
        result = compare("w", _aggregate(rng, 40, 2000), _aggregate(rng, 40, 2000, slowdown=1.15))
        assert result.p_value is not None
        assert result.p_value < 0.01
        assert result.verdict == "unchanged"


def test_a_shift_that_doubles_the_median_is_a_regression_and_its_reverse_an_improvement() -> None:
    rng = random.Random(6)
    slow = compare("w", _aggregate(rng, 40, 50), _aggregate(rng, 40, 50, slowdown=2.0))
    assert slow.verdict == "regressed"
    assert slow.delta is not None
    assert slow.delta > 0.474
    fast = compare("w", _aggregate(rng, 80, 50), _aggregate(rng, 40, 50))
    assert fast.verdict == "improved"


def test_too_few_runs_is_insufficient_data_not_unchanged() -> None:
    rng = random.Random(7)
    assert compare("w", _aggregate(rng, 40, 5), _aggregate(rng, 400, 50)).verdict == (
        "insufficient data"
    )


def test_saving_a_baseline_from_a_folder_without_slo_json_is_one_line(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    empty = pytester.mkdir("empty")
    assert main(["--project", str(pytester.path), "baseline", "save", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "not an slo.json Interlock wrote" in err[0]


def test_a_workflow_without_runs_is_neither_new_nor_compared() -> None:
    rng = random.Random(8)

    def document(**workflows: Aggregate) -> dict[str, object]:
        return {"workflows": [{"name": n, "aggregate": a.to_dict()} for n, a in workflows.items()]}

    ran = _aggregate(rng, 40, 50)
    before = document(checkout=ran, refunds=_aggregate(rng, 40, 50))
    now = document(checkout=ran, refunds=Aggregate(), never_ran=Aggregate())
    verdicts = {c.workflow: c.verdict for c in compare_documents(before, now)}
    # declared but without data here: gone from this run, and nothing about never_ran
    assert verdicts == {"checkout": "unchanged", "refunds": "gone"}
