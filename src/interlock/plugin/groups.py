"""``xdist_group`` marks honoured under ``-n`` with ``--dist loadgroup``, whatever pytest's version.

pytest-xdist's loadgroup puts the tests of one group on one worker by appending
``@group`` to their ids as the workers collect them; since pytest 9.2 an id is derived
from the test's name and parameters, so the suffix is lost and a group is spread as
``load`` spreads tests. Here each worker also writes ``{test id: group}`` to the run
folder while it collects (before it reports its collection), and the controller's
scheduler reads what every worker wrote once all have collected, and schedules each
group as one unit, as loadgroup means to. Ids that do carry the suffix (older pytest)
are scheduled as xdist always did.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from interlock.plugin.run import run_context

__all__ = ["group_of"]

#: folder of the run folder holding each worker's test id -> group map while it starts
GROUPS_DIR = ".xdist-groups"


def group_of(item: pytest.Item) -> str | None:
    """The group of a test as xdist names it: its ``xdist_group`` names joined, or None."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) if names else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = run_context(config)
    if run.worker is None or not config.getvalue("loadgroup"):
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item))}
    folder = run.ensure_run_dir() / GROUPS_DIR
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{run.worker}.json"
    tmp.write_text(json.dumps(groups), encoding="utf-8")
    os.replace(tmp, folder / f"{run.worker}.json")  # whole or absent, never half-read


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import (  # type: ignore[import-untyped]  # only in xdist's controller
        LoadGroupScheduling,
    )

    folder = run_context(config).run_dir / GROUPS_DIR

    class MarkedGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        """loadgroup, with each test's group read from what the workers wrote."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # scheduling starts once every worker has collected
                self.groups = _read_groups(folder)
            group = self.groups.get(nodeid)
            return group if group is not None else str(super()._split_scope(nodeid))

    return MarkedGroupScheduling(config, log)


def _read_groups(folder: Path) -> dict[str, str]:
    groups: dict[str, str] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("gw*.json")):
            groups.update(json.loads(path.read_text(encoding="utf-8")))
        shutil.rmtree(folder, ignore_errors=True)
    return groups
