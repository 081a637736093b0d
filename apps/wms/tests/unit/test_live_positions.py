"""Where the WebSocket hub reads on in a live stream after (re)connecting to Redis, and
how many entries a live stream keeps."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from wms.events.live import START, resume_from
from wms.settings import SettingsError, get_settings


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


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Only the variables a test sets (and the two required secrets)."""
    for name in list(os.environ):
        if name.upper().startswith("WMS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WMS_JWT_SECRET", "a-proper-secret-of-forty-characters-0123")
    monkeypatch.setenv("WMS_ENCRYPTION_KEY", "another-proper-secret-of-forty-chars-987")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_live_stream_length_is_a_setting(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("WMS_LIVE_STREAM_MAXLEN", "500")
    assert get_settings().live_stream_maxlen == 500


def test_a_live_stream_that_keeps_nothing_refuses_to_start_with_one_line(
    environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environ.setenv("WMS_LIVE_STREAM_MAXLEN", "0")
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert refused.value.code == 2
    assert "WMS_LIVE_STREAM_MAXLEN Input should be greater than or equal to 1" in (
        refused.value.message
    )
    assert capsys.readouterr().err == refused.value.message + "\n"
