"""The redis helper on a real Redis: a subscription listens from the moment it is made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock.helpers import EventListener
from interlock.helpers.deadline import WaitTimeout, poll
from interlock.stack import ManagedProcess
from interlock.stack.redis import EmbeddedRedis


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ManagedProcess, str]]:
    workdir: Path = tmp_path_factory.mktemp("redis")
    server = EmbeddedRedis(workdir=workdir, log_path=workdir / "redis.log")
    with server.prepare() as process:
        yield process, server.url


@pytest.fixture
def redis_url(redis_server: tuple[ManagedProcess, str]) -> str:
    return redis_server[1]


def subscribers(listener: EventListener, channel: str) -> int:
    return int(dict(listener.client.pubsub_numsub(channel))[channel])


def test_subscribe_written_as_a_statement_listens_at_once(redis_url):
    with EventListener(redis_url, timeout=5) as listener:
        sub = listener.subscribe("events")  # no with: it must still be listening
        listener.client.publish("events", '{"kind": "hello"}')
        assert sub.wait_for(lambda m: m["kind"] == "hello") == {"kind": "hello"}


def test_a_with_block_unsubscribes_at_its_end(redis_url):
    with EventListener(redis_url, timeout=5) as listener:
        with listener.subscribe("events"):
            assert subscribers(listener, "events") == 1
        # the server drops a closed connection's subscriptions as it notices the close
        poll(
            lambda: subscribers(listener, "events") == 0, timeout=5, what="the subscription dropped"
        )


def test_closing_the_listener_unsubscribes_what_is_left(redis_url):
    listener = EventListener(redis_url, timeout=5)
    listener.subscribe("events")
    with EventListener(redis_url, timeout=5) as watcher:
        assert subscribers(watcher, "events") == 1
        listener.close()
        poll(
            lambda: subscribers(watcher, "events") == 0, timeout=5, what="the subscription dropped"
        )


def test_an_unconfirmed_subscription_raises_instead_of_missing_messages(redis_server):
    process, url = redis_server
    with EventListener(url, timeout=0.5) as listener:
        listener.client.ping()  # connected; now Redis stops answering
        process.pause()
        try:
            with pytest.raises(WaitTimeout, match="confirmed 0 of 1 subscription"):
                listener.subscribe("events")
        finally:
            process.resume()


def test_a_wait_that_times_out_names_what_it_waited_for_and_what_came(redis_url):
    with EventListener(redis_url, timeout=5) as listener:
        sub = listener.subscribe("events")
        listener.client.publish("events", '{"kind": "other"}')
        sub.wait_for(lambda m: m["kind"] == "other")
        with pytest.raises(WaitTimeout) as failed:
            sub.wait_for(lambda m: m["kind"] == "relayed", timeout=0, what="the event relayed")
    assert str(failed.value) == (
        "timed out after 0 s waiting for the event relayed; "
        "received 1 other message(s), the last: [{'kind': 'other'}]"
    )
