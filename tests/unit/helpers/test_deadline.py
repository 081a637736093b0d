"""Waits with a deadline word their failures one way, whichever helper waited."""

from __future__ import annotations

import pytest

from interlock.helpers.deadline import Deadline, WaitTimeout, poll, seen_instead


def test_poll_returns_the_first_true_result() -> None:
    answers = iter([None, False, {"id": 1}])
    assert poll(lambda: next(answers), timeout=5, what="a row") == {"id": 1}


def test_a_poll_that_times_out_says_what_it_waited_for() -> None:
    with pytest.raises(WaitTimeout) as failed:
        poll(lambda: None, timeout=0, what="the invoice paid")
    assert str(failed.value) == "timed out after 0 s waiting for the invoice paid"


def test_what_came_instead_is_counted_and_its_last_items_cut_short() -> None:
    seen = seen_instead(["a", "b", "c", "x" * 500], "frame")
    assert seen.startswith("received 4 other frame(s), the last: ['b', 'c', 'xxx")
    assert len(seen) < 300
    assert seen_instead([], "message") == "received 0 other message(s)"


def test_a_deadline_counts_down_and_never_below_zero() -> None:
    ahead = Deadline(60)
    assert not ahead.passed
    assert 0 < ahead.remaining() <= 60
    over = Deadline(0)
    assert over.passed
    assert over.remaining() == 0.0
