"""The Twilio simulator moves messages through their statuses and POSTs signed status callbacks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from interlock.errors import ConfigError
from interlock.helpers.deadline import poll
from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator
from interlock.simulators.twilio import segments

pytestmark = pytest.mark.external

SERVICE = "twilio"
SID = "AC" + "2" * 32
TOKEN = "callback-token"
TO = "+15551230000"
FROM = "+15005550006"


def twilio(server: ThreadedSimulator, token: str = TOKEN) -> Client:
    client = Client(SID, token)
    client.api.base_url = server.url
    return client


class Call:
    def __init__(self, path: str, headers: dict[str, str], body: str) -> None:
        self.path = path
        self.headers = headers
        self.body = body
        self.params = dict(parse_qsl(body, keep_blank_values=True))


class Receiver:
    """A status-callback endpoint on a loopback port: records each POST, answers as scripted."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.statuses: list[int] = []  # answered in turn, then 200
        #: every answer waits for this; clear it to hold the simulator's POSTs open
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.calls.append(Call(self.path, dict(self.headers.items()), body))
                receiver.release.wait(10)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.base + "/sms/status"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def wait_for(self, count: int, *, path: str | None = None) -> list[Call]:
        """The first ``count`` callbacks (to ``path`` if given), once they have arrived."""

        def arrived() -> list[Call] | None:
            with self._lock:
                calls = [c for c in self.calls if path is None or c.path == path]
            return calls if len(calls) >= count else None

        result: list[Call] = poll(arrived, timeout=5, what=f"{count} status callbacks")
        return result

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def final_status(client: Client, sid: str, *statuses: str) -> Any:
    """The message, fetched through the SDK, once its status is one of ``statuses``."""
    return poll(
        lambda: (m := client.messages(sid).fetch()).status in statuses and m,
        timeout=5,
        what=f"message {sid} to reach {'/'.join(statuses)}",
    )


def finished_callbacks(control: SimulatorClient, count: int) -> list[dict[str, Any]]:
    """The simulator's callback records, once ``count`` attempts have an outcome."""

    def finished() -> list[dict[str, Any]] | None:
        records: list[dict[str, Any]] = control.state()["callbacks"]
        done = [r for r in records if r["response_status"] is not None or r["error"] is not None]
        return done if len(done) >= count else None

    result: list[dict[str, Any]] = poll(finished, timeout=15, what=f"{count} callback outcomes")
    return result


def test_callbacks_arrive_sent_then_delivered_signed_with_the_auth_token(server, control, receiver):
    message = twilio(server).messages.create(
        to=TO, from_=FROM, body="Pickup at 7", status_callback=receiver.url
    )
    sent, delivered = receiver.wait_for(2)
    assert [c.params["MessageStatus"] for c in (sent, delivered)] == ["sent", "delivered"]
    for call in (sent, delivered):
        assert call.params == {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "AccountSid": SID,
            "From": FROM,
            "To": TO,
            "MessageStatus": call.params["MessageStatus"],
            "SmsStatus": call.params["MessageStatus"],
            "ApiVersion": "2010-04-01",
        }
        assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert call.headers["User-Agent"] == "TwilioProxy/1.1"
        signature = call.headers["X-Twilio-Signature"]
        assert RequestValidator(TOKEN).validate(receiver.url, call.params, signature)
        assert not RequestValidator("wrong-token").validate(receiver.url, call.params, signature)
        forged = {**call.params, "MessageStatus": "failed"}
        assert not RequestValidator(TOKEN).validate(receiver.url, forged, signature)
    tokens = {c.headers["I-Twilio-Idempotency-Token"] for c in (sent, delivered)}
    assert len(tokens) == 2
    assert all(tokens)

    records = finished_callbacks(control, 2)
    assert [(r["message_sid"], r["url"], r["status"], r["response_status"]) for r in records] == [
        (message.sid, receiver.url, "sent", 200),
        (message.sid, receiver.url, "delivered", 200),
    ]
    exposed = json.dumps(control.state()) + json.dumps(control.journal())
    assert TOKEN not in exposed
    assert sent.headers["X-Twilio-Signature"] not in exposed


def test_a_message_callbacks_wait_for_each_other_but_not_its_progress(server, receiver):
    receiver.release.clear()  # the receiver holds its answer to "sent"
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url)
    final_status(client, message.sid, "delivered")
    assert [c.params["MessageStatus"] for c in receiver.calls] == ["sent"]
    receiver.release.set()
    calls = receiver.wait_for(2)
    assert [c.params["MessageStatus"] for c in calls] == ["sent", "delivered"]


def test_receiver_slower_than_callback_timeout_is_recorded_as_a_timeout(server, control, receiver):
    receiver.release.clear()
    control.seed({"callback_timeout": 0.2})
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url)
    records = finished_callbacks(control, 2)
    assert [(r["status"], r["response_status"], r["error"]) for r in records] == [
        ("sent", None, "TimeoutError"),
        ("delivered", None, "TimeoutError"),
    ]
    assert final_status(client, message.sid, "delivered").status == "delivered"


def test_message_moves_on_to_delivered_with_date_sent_and_price(server, control):
    control.seed({"status_delay": 0.02})
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="Bins out")
    assert (message.status, message.date_sent, message.price) == ("queued", None, None)
    fetched = final_status(client, message.sid, "delivered")
    assert fetched.date_sent is not None
    assert fetched.date_updated >= fetched.date_created
    assert (fetched.price, fetched.price_unit) == ("-0.00790", "USD")
    assert fetched.error_code is None
    [listed] = client.messages.list(to=TO)
    assert listed.status == "delivered"


def test_a_frozen_clock_moves_a_message_on_only_as_the_test_advances_it(server, control):
    control.seed({"status_delay": 3600})  # an hour a step: real time alone moves nothing
    control.freeze_clock("2024-05-01T08:00:00Z")
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="Bins out")
    assert message.status == "queued"
    assert message.date_created == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    control.advance_clock(3600)
    final_status(client, message.sid, "sending")
    control.advance_clock(2 * 3600)  # two steps due at once: sent, then delivered
    delivered = final_status(client, message.sid, "delivered", "undelivered", "failed")
    assert delivered.status == "delivered"
    assert delivered.date_sent == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    statuses = [c["status"] for c in control.state()["messages"]]
    assert statuses == ["delivered"]


def test_messaging_service_starts_accepted_and_names_the_service_in_callbacks(server, receiver):
    client = twilio(server)
    service = "MG" + "3" * 32
    message = client.messages.create(
        to=TO, messaging_service_sid=service, body="Hi", status_callback=receiver.url
    )
    assert message.status == "accepted"
    sent, delivered = receiver.wait_for(2)
    assert [c.params["MessageStatus"] for c in (sent, delivered)] == ["sent", "delivered"]
    assert delivered.params["MessagingServiceSid"] == service
    assert RequestValidator(TOKEN).validate(
        receiver.url, delivered.params, delivered.headers["X-Twilio-Signature"]
    )


def test_undeliverable_number_ends_undelivered_with_30003(server, control, receiver):
    control.seed({"undeliverable": [TO]})
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url)
    sent, undelivered = receiver.wait_for(2)
    assert [c.params["MessageStatus"] for c in (sent, undelivered)] == ["sent", "undelivered"]
    assert "ErrorCode" not in sent.params
    assert undelivered.params["ErrorCode"] == "30003"
    assert RequestValidator(TOKEN).validate(
        receiver.url, undelivered.params, undelivered.headers["X-Twilio-Signature"]
    )
    fetched = final_status(client, message.sid, "undelivered")
    assert (fetched.error_code, fetched.error_message) == (30003, "Unreachable destination handset")
    assert fetched.date_sent is not None


def test_failing_number_ends_failed_with_30008_without_being_sent(server, control, receiver):
    control.seed({"failing": [TO]})
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url)
    [failed] = receiver.wait_for(1)
    assert (failed.params["MessageStatus"], failed.params["ErrorCode"]) == ("failed", "30008")
    fetched = final_status(client, message.sid, "failed")
    assert (fetched.error_code, fetched.date_sent, fetched.price) == (30008, None, None)
    assert [r["status"] for r in finished_callbacks(control, 1)] == ["failed"]


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_magic_test_numbers_are_refused_with_their_codes(server, control, to, code):
    with pytest.raises(TwilioRestException) as info:
        twilio(server).messages.create(to=to, from_=FROM, body="x")
    assert (info.value.status, info.value.code) == (400, code)
    assert to in info.value.msg or code == 21610
    assert control.state()["messages"] == []


def test_receiver_answering_500_is_recorded_and_the_message_is_still_delivered(
    server, control, receiver
):
    receiver.statuses = [500]
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url)
    final_status(client, message.sid, "delivered")
    records = finished_callbacks(control, 2)
    assert [(r["status"], r["response_status"], r["error"]) for r in records] == [
        ("sent", 500, None),
        ("delivered", 200, None),
    ]
    assert len(receiver.wait_for(2)) == 2  # one attempt each: a 500 is not retried


def test_unreachable_receiver_is_recorded_and_the_message_is_still_delivered(server, control):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # the port is free again once this block ends
    url = f"http://127.0.0.1:{port}/gone"
    client = twilio(server)
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=url)
    final_status(client, message.sid, "delivered")
    records = finished_callbacks(control, 2)
    assert [r["status"] for r in records] == ["sent", "delivered"]
    assert all(r["url"] == url and r["response_status"] is None and r["error"] for r in records)


def test_reset_cancels_pending_progressions_and_callbacks(server, control, receiver):
    # both messages move with the same slow step; the first one's "sent" callback would
    # be due a whole step before the second one's "delivered" callback
    control.seed({"status_delay": 0.3})
    client = twilio(server)
    client.messages.create(to=TO, from_=FROM, body="old", status_callback=receiver.base + "/old")
    control.reset()
    control.seed({"status_delay": 0.3})
    new = client.messages.create(
        to=TO, from_=FROM, body="new", status_callback=receiver.base + "/new"
    )
    receiver.wait_for(2, path="/new")
    assert [c.path for c in receiver.calls] == ["/new", "/new"]
    state = control.state()
    assert [m["sid"] for m in state["messages"]] == [new.sid]
    assert {r["message_sid"] for r in state["callbacks"]} == {new.sid}


def test_no_task_outlives_the_app(receiver):
    with ThreadedSimulator(SERVICE) as server:
        server.sim.seed_data({"status_delay": 60})
        twilio(server).messages.create(to=TO, from_=FROM, body="x", status_callback=receiver.url)

        async def progressions() -> list[bool]:
            return [task.done() for task in server.sim._outbound.tasks]

        assert server.call(progressions) == [False]
    assert server.sim._outbound.tasks == set()
    assert receiver.calls == []


@pytest.mark.parametrize(
    ("seed", "named"),
    [
        ({"status_dleay": 1}, "status_dleay"),
        ({"status_delay": -1}, "status_delay"),
        ({"callback_timeout": 0}, "callback_timeout"),
        ({"undeliverable": "+15551230000"}, "undeliverable"),
    ],
)
def test_bad_seed_is_refused_naming_the_key(control, seed, named):
    with pytest.raises(ConfigError, match="simulator 'twilio' refused the seed data") as info:
        control.seed(seed)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [("x" * 160, 1), ("x" * 161, 2), ("x" * 306, 2), ("x" * 307, 3), ("é" * 70, 1), ("é" * 71, 2)],
)
def test_long_bodies_are_counted_in_segments_as_twilio_bills_them(body, expected):
    assert segments(body) == expected
