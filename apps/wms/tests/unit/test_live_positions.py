"""Where the WebSocket hub reads on in a live stream after (re)connecting to Redis."""

from __future__ import annotations

import pytest

from wms.events.live import START, resume_from


def test_a_new_reader_starts_after_the_newest_entry():
    assert resume_from(None, "1700000000000-3") == "1700000000000-3"


def test_a_new_reader_of_an_absent_stream_reads_it_from_the_start():
    assert resume_from(None, None) == START


def test_a_reader_back_from_an_outage_reads_on_from_its_last_entry():
    assert resume_from("1700000000000-3", "1700000005000-0") == "1700000000000-3"
    assert resume_from("1700000000000-3", "1700000000000-3") == "1700000000000-3"


def test_a_reader_of_a_redis_that_lost_its_streams_starts_again_from_the_start():
    # the stream is gone, or was made again with ids below the one kept
    assert resume_from("1700000000000-3", None) == START
    assert resume_from("1700000000000-3", "1700000000000-2") == START
    assert resume_from("1700000000000-3", "1699999999999-9") == START


def test_ids_compare_as_numbers_not_text():
    assert resume_from("999-0", "1000-0") == "999-0"


def test_a_malformed_id_is_refused():
    with pytest.raises(ValueError, match="not a Redis stream id"):
        resume_from("yesterday", "1000-0")
