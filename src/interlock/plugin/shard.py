"""``--shard I/N``: run a deterministic one-Nth of the collected tests (CI matrix shards).

Tests are dealt longest first to the shard with the least work so far, by the
durations in ``--shard-durations FILE`` (a ``tests.json`` of an earlier run) when one is
named; a test with no known duration counts as the mean of the known ones. Without a
file every test weighs the same, so tests are dealt round-robin in node-id order. Ties
break by node id, so every shard (and every xdist worker of a shard) computes the same
split from the same collection and the same file: the N shards together run every test
exactly once. The split never depends on the artifacts folder, which each shard's own
run changes: shards run one after another in one checkout would split differently.

Each shard leaves ``shard.json`` in its run folder, saying what it is, so that
``interlock report merge`` can refuse a set of shards that is not one whole run::

    {"shard": "2/3", "index": 2, "total": 3,
     "collection": "sha256:...",   # the node ids that were split (after -k and -m)
     "split": "sha256:...",        # which shard each of them went to
     "tests": 41,                  # how many were split
     "session": "9f2c01ab"}        # this pytest session, the same in every xdist worker
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from interlock.plugin.run import run_context
from interlock.report.outcomes import read_outcomes

__all__ = ["SHARD_FILE", "assign", "parse_shard", "past_durations", "shard_record"]

#: the file in a shard's run folder that says which shard of which split it ran
SHARD_FILE = "shard.json"
_WORKEROUTPUT_KEY = "interlock_shard"
_DURATIONS = pytest.StashKey[dict[str, float]]()
_RECORD = pytest.StashKey[dict[str, Any]]()

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> (2, 3); raises ValueError unless 1 <= I <= N."""
    match = _SHARD.match(text)
    if not match:
        raise ValueError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    index, total = int(match[1]), int(match[2])
    if not 1 <= index <= total:
        raise ValueError(f"--shard {text!r}: I must be between 1 and N")
    return index, total


def assign(nodeids: Sequence[str], total: int, durations: Mapping[str, float]) -> list[int]:
    """The shard (1..total) of each node id, balancing the known ``durations`` (seconds)."""
    known = [durations[n] for n in nodeids if n in durations]
    default = sum(known) / len(known) if known else 1.0
    load = [0.0] * total
    shard_of: dict[str, int] = {}
    for nodeid in sorted(set(nodeids), key=lambda n: (-durations.get(n, default), n)):
        lightest = min(range(total), key=lambda i: (load[i], i))
        load[lightest] += durations.get(nodeid, default)
        shard_of[nodeid] = lightest + 1
    return [shard_of[n] for n in nodeids]


def past_durations(source: Path | None) -> dict[str, float]:
    """Test durations (s) of ``source`` (a tests.json); empty when it is None.

    Raises ValueError if ``source`` is not a tests.json.
    """
    if source is None:
        return {}
    durations: dict[str, float] = {}
    for outcome in read_outcomes(source):  # a repeated test: its longest run
        durations[outcome.nodeid] = max(durations.get(outcome.nodeid, 0.0), outcome.duration_s)
    return durations


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interlock")
    group.addoption(
        "--shard",
        metavar="I/N",
        default=None,
        help="run only shard I of N: a deterministic split, the same for every shard "
        "(balanced by --shard-durations when given, else round-robin by node id)",
    )
    group.addoption(
        "--shard-durations",
        metavar="FILE",
        default=None,
        help="tests.json of an earlier run whose durations balance the shards; give "
        "every shard the same file (default: none, every test weighs the same)",
    )


def _digest(lines: Sequence[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def shard_record(
    nodeids: Sequence[str], shards: Sequence[int], index: int, total: int, session: str
) -> dict[str, Any]:
    """What ``shard.json`` says of shard ``index`` of ``total`` (see the module docstring).

    Shards of one run have equal ``collection`` and ``split`` digests: two that differ
    split other tests (another checkout, -k or -m) or split them otherwise (another
    ``--shard-durations`` file), so together they do not run every test exactly once.
    """
    return {
        "shard": f"{index}/{total}",
        "index": index,
        "total": total,
        "collection": _digest(sorted(nodeids)),
        "split": _digest(sorted(f"{n} {s}" for n, s in zip(nodeids, shards, strict=True))),
        "tests": len(nodeids),
        "session": session,
    }


def pytest_configure(config: pytest.Config) -> None:
    """Check --shard and --shard-durations before anything is collected or started."""
    text = config.getoption("shard")
    chosen = config.getoption("shard_durations")
    if text is None:
        if chosen is not None:  # it would be ignored, and the whole suite run
            raise pytest.UsageError(
                "interlock: --shard-durations needs --shard I/N (it balances the shards)"
            )
        return
    try:
        parse_shard(text)
    except ValueError as exc:
        raise pytest.UsageError(f"interlock: {exc}") from None
    try:
        config.stash[_DURATIONS] = past_durations(Path(chosen) if chosen else None)
    except ValueError as exc:
        raise pytest.UsageError(f"interlock: --shard-durations: {exc}") from None


@pytest.hookimpl(trylast=True)  # after -k and -m: split what would run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    text = config.getoption("shard")
    if text is None:
        return
    index, total = parse_shard(text)
    nodeids = [item.nodeid for item in items]
    durations: dict[str, float] = config.stash.get(_DURATIONS, {})
    shards = assign(nodeids, total, durations)
    config.stash[_RECORD] = shard_record(nodeids, shards, index, total, run_context(config).session)
    kept = [item for item, shard in zip(items, shards, strict=True) if shard == index]
    dropped = [item for item, shard in zip(items, shards, strict=True) if shard != index]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


@pytest.hookimpl(optionalhook=True)  # xdist's hook: absent under -p no:xdist
def pytest_testnodedown(node: Any, error: object) -> None:
    """Under xdist the workers collect and split; the controller writes what they computed."""
    record = getattr(node, "workeroutput", {}).get(_WORKEROUTPUT_KEY)
    if record is not None:
        node.config.stash[_RECORD] = record


@pytest.hookimpl(trylast=True)  # after the writers that make the run folder
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    record = config.stash.get(_RECORD, None)
    if record is None:
        return
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKEROUTPUT_KEY] = record
        return
    run_dir = run_context(config).run_dir
    if run_dir.is_dir():  # made by the run; a session without a stack makes none
        path = run_dir / SHARD_FILE
        tmp = path.with_name(f".{SHARD_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
