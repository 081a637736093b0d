"""``--shard I/N``: run a deterministic one-Nth of the collected tests (CI matrix shards).

Tests are dealt longest first to the shard with the least work so far, by the
durations in ``--shard-durations FILE`` (a ``tests.json`` of an earlier run) when one is
named; a test with no known duration counts as the mean of the known ones. Without a
file every test weighs the same, so tests are dealt round-robin in node-id order. Ties
break by node id, so every shard (and every xdist worker of a shard) computes the same
split from the same collection and the same file: the N shards together run every test
exactly once. The split never depends on the artifacts folder, which each shard's own
run changes: shards run one after another in one checkout would split differently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from interlock.report.outcomes import read_outcomes

__all__ = ["assign", "parse_shard", "past_durations"]

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


def pytest_configure(config: pytest.Config) -> None:
    text = config.getoption("shard")
    if text is not None:
        try:
            parse_shard(text)
        except ValueError as exc:
            raise pytest.UsageError(f"interlock: {exc}") from None


@pytest.hookimpl(trylast=True)  # after -k and -m: split what would run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    text = config.getoption("shard")
    if text is None:
        return
    index, total = parse_shard(text)
    chosen = config.getoption("shard_durations")
    try:
        durations = past_durations(Path(chosen) if chosen else None)
    except ValueError as exc:
        raise pytest.UsageError(f"interlock: --shard-durations: {exc}") from None
    shards = assign([item.nodeid for item in items], total, durations)
    kept = [item for item, shard in zip(items, shards, strict=True) if shard == index]
    dropped = [item for item, shard in zip(items, shards, strict=True) if shard != index]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
