"""Business suites: one test id per operation of the API fuzzing tests."""

from __future__ import annotations

import pytest


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
