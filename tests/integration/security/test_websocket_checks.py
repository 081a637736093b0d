"""The WebSocket checks pass on an app that refuses what it must and fail on one with
the matching flaw: no token, an expired one, a foreign Origin, another owner's channel,
a huge frame, a malformed message that closes the socket."""

from __future__ import annotations

import time

import pytest
from tests.integration.security.tiny_app import KEY, token

from interlock.security import (
    FOREIGN_ORIGIN,
    CheckFailed,
    check_channel,
    check_handshake_refused,
    check_huge_frame_closes,
    check_malformed_messages_answered,
    resigned,
)

CUSTOMER = token("c1", "customer")


def expired() -> str:
    return resigned(CUSTOMER, key=KEY, changes={"exp": int(time.time()) - 3600})


REFUSALS = {
    "ws-takes-anyone": {"token": None},
    "ws-takes-expired": {"token": "expired"},
    "ws-takes-any-origin": {"token": CUSTOMER, "origin": FOREIGN_ORIGIN},
}


@pytest.mark.parametrize("flaw", sorted(REFUSALS))
def test_a_handshake_check_passes_when_the_app_refuses(holding, settings, flaw):
    kwargs = {**REFUSALS[flaw]}
    kwargs["token"] = expired() if kwargs["token"] == "expired" else kwargs["token"]
    assert check_handshake_refused(holding.url, settings.websocket, **kwargs) in (401, 403)


@pytest.mark.parametrize("flaw", sorted(REFUSALS))
def test_a_handshake_check_fails_when_the_app_accepts(flawed, settings, flaw):
    kwargs = {**REFUSALS[flaw]}
    kwargs["token"] = expired() if kwargs["token"] == "expired" else kwargs["token"]
    with pytest.raises(CheckFailed, match="was accepted, expected a refusal"):
        check_handshake_refused(flawed(flaw).url, settings.websocket, **kwargs)


def test_the_channel_check_passes_on_the_configured_verdicts(holding, settings):
    ws = settings.websocket
    for channel, owner in (("owner:{own}", "c1"), ("owner:{other}", "c2")):
        check_channel(
            holding.url,
            ws,
            token=CUSTOMER,
            channel=channel.format(own="c1", other=owner),
            expected=ws.verdict(channel, "customer"),
        )


def test_the_channel_check_fails_when_another_owners_channel_is_open(flawed, settings):
    with pytest.raises(CheckFailed, match=r"allowed .* expected refused"):
        check_channel(
            flawed("ws-any-channel").url,
            settings.websocket,
            token=CUSTOMER,
            channel="owner:c2",
            expected=settings.websocket.verdict("owner:{other}", "customer"),
        )


def test_the_frame_check_passes_when_a_huge_frame_closes_with_1009(holding, settings):
    check_huge_frame_closes(holding.url, settings.websocket, settings.limits, token=CUSTOMER)


def test_the_frame_check_fails_when_a_huge_frame_is_taken(flawed, settings):
    with pytest.raises(CheckFailed, match="was answered"):
        check_huge_frame_closes(
            flawed("ws-any-frame").url, settings.websocket, settings.limits, token=CUSTOMER
        )


def test_the_malformed_message_check_passes_when_each_is_answered(holding, settings):
    check_malformed_messages_answered(
        holding.url, settings.websocket, token=CUSTOMER, channel="owner:c1"
    )


def test_the_malformed_message_check_fails_when_one_closes_the_socket(flawed, settings):
    with pytest.raises(CheckFailed, match="closed the socket"):
        check_malformed_messages_answered(
            flawed("ws-closes-on-malformed").url,
            settings.websocket,
            token=CUSTOMER,
            channel="owner:c1",
        )
