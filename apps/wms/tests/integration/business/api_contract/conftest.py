"""The API fuzzing tests' folder: Schemathesis' pytest plugin, loaded only here, and one
test id per operation."""

from __future__ import annotations

from collections.abc import Generator

import pytest

#: whether an item's call phase passed: a check made after the examples means nothing
#: when they failed or were interrupted (their own failure already says what went wrong)
CALL_PASSED = pytest.StashKey[bool]()

#: Schemathesis' pytest plugin; pyproject.toml keeps it from loading in every run.
#: Hypothesis's own stays off: the suite seeds Hypothesis and keeps its examples itself,
#: and that plugin refuses to be loaded once collection has begun
PLUGINS = ("schemathesis.pytest.plugin",)


def pytest_configure(config: pytest.Config) -> None:
    # called as this folder is collected, before its modules: the fuzzing tests are
    # collected as Schemathesis' items, and a run that never comes here never imports them
    for name in PLUGINS:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.import_plugin(name)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Schemathesis names each operation's test "test[METHOD /path]", but pytest 9.2 builds
    # a test's id from its original name and parameters, so all of them got one id: xdist
    # would keep them on one worker and the reports would merge them. Give each its label.
    for item in items:
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and node_id is not None and not item.nodeid.endswith("]"):
            item._id = node_id.with_params(label)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_PASSED] = report.passed
    return report
