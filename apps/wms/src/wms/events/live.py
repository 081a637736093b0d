"""Where a live reader resumes each event channel's Redis stream (``wms:live:<channel>``).

Stream ids are ``<ms>-<seq>``, increasing within one Redis. A reader keeps the id of the
last entry it handled per stream and reads on from there; after a Redis that lost its data
(restarted empty, or from an older snapshot) the stream's last id is below the kept one,
and the reader starts again from the stream's start instead of waiting for ids it passed.
"""

from __future__ import annotations

__all__ = ["START", "resume_from"]

#: read a stream from its first entry
START = "0-0"


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    if not (ms.isdigit() and (seq == "" or seq.isdigit())):
        raise ValueError(f"not a Redis stream id: {entry_id!r}")
    return int(ms), int(seq or 0)


def resume_from(kept: str | None, last: str | None) -> str:
    """The id to read a stream after.

    ``kept`` is the id of the last entry this reader handled (None: none yet, the reader
    starts now and wants only what comes next); ``last`` is the id of the stream's newest
    entry in Redis now (None: the stream is empty or absent). Raises ValueError on an id
    that is not ``<ms>-<seq>``.
    """
    if last is None:
        return START  # whatever is added from now on is new to this reader
    if kept is None:
        return last
    # a stream whose newest id is below ours is not the one we read: Redis lost its data
    return kept if _id(last) >= _id(kept) else START
