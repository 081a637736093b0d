"""The ``load`` fixture as users get it from Interlock's pytest plugin."""

from __future__ import annotations

import json

import pytest

from .conftest import Target

FAILING_LOAD = """
from types import SimpleNamespace

import pytest

from interlock.load import PerVUIterations


@pytest.fixture
def stack():
    return SimpleNamespace(app_url={url!r})


def test_probe(load):
    async def probe(s):
        await s.get("/status/503")

    result = load.run(probe, PerVUIterations(vus=1, iterations=3))
    assert result.workflow.failures == 3
"""


def test_the_load_fixture_is_registered_and_its_runs_reach_the_slo_gate(
    pytester: pytest.Pytester, target: Target
) -> None:
    pytester.makepyfile(FAILING_LOAD.format(url=target.url))
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(passed=1)
    assert result.ret == 1  # a green test, failed by the gate on the load's iterations
    result.stdout.fnmatch_lines(["SLO breach: probe: rate>=0.95*"])
    (probe,) = json.loads((pytester.path / "run" / "slo.json").read_text())["workflows"]
    assert (probe["name"], probe["runs"], probe["failures"]) == ("probe", 3, 3)
