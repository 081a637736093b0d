"""A load result's error messages survive JSON and the merge of shards."""

from __future__ import annotations

from interlock.load.result import LoadResult, merge_shards
from interlock.slo.aggregate import Aggregate


def _part(messages: dict[str, str]) -> LoadResult:
    workflow = Aggregate()
    for kind in messages:
        workflow.record(1.0, False, kind)
    return LoadResult(
        scenario="s",
        executor="constant-vus",
        plan="1 VU",
        target="http://t",
        started_at=0.0,
        elapsed=1.0,
        workflow=workflow,
        steps={},
        error_messages=messages,
    )


def test_shards_keep_the_first_message_of_each_kind_through_json() -> None:
    first = _part({"RuntimeError": "RuntimeError: a"})
    second = _part({"RuntimeError": "RuntimeError: b", "KeyError": "KeyError: 'x'"})
    shipped = [LoadResult.from_dict(p.to_dict(encoded=True)) for p in (first, second)]
    merged = merge_shards(shipped, plan="2 shards")
    assert merged.error_messages == {"RuntimeError": "RuntimeError: a", "KeyError": "KeyError: 'x'"}
