"""A scenario: the workflow (an ``async def`` taking a Session) and what goes with it."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.errors import UsageError
from interlock.load.feeders import Feeder
from interlock.load.think import Think

__all__ = ["Scenario", "Workflow", "load_scenario", "scenario_from_source"]

Workflow = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """What one iteration does and with what.

    ``workflow``: ``async def (session) -> None``; ``target``: base URL (the command line or
    the fixture may override it); ``thresholds``: step or workflow name -> k6 rules such as
    ``"p(95)<500"`` or ``"p(95)<2000 over 30s"``; ``feeder``: gives ``session.data``.
    """

    name: str
    workflow: Workflow
    target: str | None = None
    think: Think = field(default_factory=Think)
    feeder: Feeder | None = None
    thresholds: Mapping[str, Sequence[str]] = field(default_factory=dict)
    timeout: float = 60.0


def _from_module(module: Any, where: str) -> Scenario:
    found = getattr(module, "scenario", None)
    if isinstance(found, Scenario):
        return found
    workflow = getattr(module, "workflow", None)
    if workflow is None or not inspect.iscoroutinefunction(workflow):
        raise UsageError(
            f"{where} defines neither `scenario = Scenario(...)` nor `async def workflow(session)`"
        )
    return Scenario(
        name=str(getattr(module, "name", Path(where).stem)),
        workflow=workflow,
        target=getattr(module, "target", None),
        thresholds=getattr(module, "thresholds", {}),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Import a scenario file; raises UsageError (one line) if it is missing or does not import."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"scenario file {str(file)!r} does not exist")
    return scenario_from_source(file.read_text(encoding="utf-8"), str(file))


def scenario_from_source(source: str, where: str) -> Scenario:
    """Build a scenario from a file's text (how Dask workers get it without a shared disk)."""
    name = f"interlock_load_scenario_{abs(hash(where))}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=where)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = where
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        exec(compile(source, where, "exec"), module.__dict__)
    except Exception as exc:
        sys.modules.pop(name, None)
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        raise UsageError(
            f"scenario {where!r} does not import: {type(exc).__name__}: {exc}{line}"
        ) from None
    return _from_module(module, where)
