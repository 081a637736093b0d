"""Merging the load results (``load.json``) of CI shards.

Results written with their histograms (``to_dict(encoded=True)``) merge exactly, as
Dask shards do (``interlock.load.result.merge_shards``); the merged thresholds are not
judged again (each shard judged its own). Results without histograms cannot be merged
exactly and are kept side by side as ``load-<shard>.json``, and the merge says so.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

__all__ = ["merge_load"]


def merge_load(runs: Sequence[Path], out: Path) -> str:
    """Merge the ``load.json`` of ``runs`` into ``out``; returns a line saying what was done
    (empty when no run had one). Raises ValueError on an unreadable file."""
    found = [run / "load.json" for run in runs if (run / "load.json").is_file()]
    if not found:
        return ""
    documents = []
    for path in found:
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None
    if all(isinstance(d, dict) and "encoded" in d for d in documents):
        from interlock.load.result import LoadResult, merge_shards

        try:
            parts = [LoadResult.from_dict(d) for d in documents]
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"a load.json that does not decode: {exc}") from None
        merged = merge_shards(parts, plan=parts[0].plan)
        (out / "load.json").write_text(
            json.dumps(merged.to_dict(encoded=True), indent=2) + "\n", encoding="utf-8"
        )
        return f"load: {len(parts)} load results merged exactly (thresholds not judged again)"
    for index, path in enumerate(found, 1):
        shutil.copyfile(path, out / f"load-{index}.json")
    return (
        f"load: {len(found)} load results kept side by side (load-N.json): written without "
        "histograms, they cannot be merged exactly"
    )
