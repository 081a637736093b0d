"""The ``sims`` fixture: one client a simulator for the whole session."""

from __future__ import annotations

CONFIG = '[tool.interlock]\npostgres = false\nredis = false\nsimulators = ["stripe", "twilio"]\n'

CONFTEST = """
import interlock.plugin.stack as plugin_stack

MADE = []


class Counted(plugin_stack.SimulatorClient):
    def __init__(self, name, url):
        MADE.append(name)
        super().__init__(name, url)


plugin_stack.SimulatorClient = Counted
"""

TESTS = """
import pytest

from conftest import MADE


@pytest.mark.parametrize("turn", range(3))
def test_a_client_a_simulator_whichever_test_asks(sims, turn):
    assert set(sims) == {"stripe", "twilio"}
    assert sorted(MADE) == ["stripe", "twilio"]
"""


def test_every_test_gets_the_clients_the_session_made_once(pytester):
    pytester.makepyprojecttoml(CONFIG)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sims=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
