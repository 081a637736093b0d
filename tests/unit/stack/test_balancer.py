"""App replicas behind the balancing front, on real processes: a tiny stdlib HTTP app.

Each replica answers ``GET /who`` with its own port, fails ``GET /health`` while a file
``sick-<port>`` exists, and on ``POST /once`` notes the request in ``posts-<port>`` and
resets the connection without answering (a crash after the request arrived).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from interlock.config import Config, PostgresConfig, RedisConfig, ServiceSpec
from interlock.errors import ConfigError
from interlock.helpers.deadline import poll
from interlock.ports import port_open
from interlock.stack import Stack
from interlock.stack.app import App
from interlock.stack.watch import ProcessWatch

APP = textwrap.dedent(
    """
    import http.server, socket, struct, sys
    from pathlib import Path

    port, state = int(sys.argv[1]), Path(sys.argv[2])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/health":
                sick = (state / f"sick-{port}").exists()
                self.answer(503 if sick else 200, b"sick" if sick else b"ok")
            else:
                self.answer(200, str(port).encode())

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with (state / f"posts-{port}").open("a") as notes:
                notes.write(self.path + "\\n")
            # linger 0: the client sees a reset, after its request arrived
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
            self.close_connection = True

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)


def app_config(tmp_path: Path, *, replicas: int = 2, health_interval: float = 0.1) -> Config:
    script = tmp_path / "tiny_app.py"
    script.write_text(APP)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return Config(
        root=tmp_path,
        tests=tmp_path,
        artifacts=tmp_path / "runs",
        postgres=PostgresConfig(enabled=False),
        redis=RedisConfig(enabled=False),
        faults=False,
        app=ServiceSpec(
            name="app",
            command=(sys.executable, str(script), "{port}", str(state)),
            health="/health",
            ready_timeout=20,
            replicas=replicas,
            health_interval=health_interval,
        ),
    )


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Stacks of the tiny app, each closed at the end of the test (if the test did not)."""
    stacks: list[Stack] = []

    def make(*, replicas: int = 2, health_interval: float = 0.1) -> Stack:
        config = app_config(tmp_path, replicas=replicas, health_interval=health_interval)
        stack = Stack(config, run_dir=tmp_path / "run")
        stacks.append(stack)
        return stack.__enter__()

    yield make
    for stack in stacks:
        stack.close()


def who(url: str) -> int:
    """The port of the replica that answered, on a connection of its own."""
    response = httpx.get(f"{url}/who", timeout=10)
    assert response.status_code == 200, response.text
    return int(response.text)


def ports(app: App) -> list[int]:
    return [replica.port for replica in app.replicas]  # type: ignore[misc]


def member(app: App, name: str) -> object:
    assert app.front is not None
    return next(m for m in app.front.members() if m.name == name)


def test_round_robin_gives_each_new_connection_to_the_next_replica(make_stack):
    stack = make_stack()
    app = stack.app
    assert app.url == stack.app_url
    assert [replica.name for replica in app.replicas] == ["app-1", "app-2"]
    assert set(stack.processes) == {"app-1", "app-2"}
    seen = [who(app.url) for _ in range(4)]
    assert seen[0] != seen[1]
    assert seen == seen[:2] * 2
    assert sorted(seen[:2]) == sorted(ports(app))
    assert [m.connections for m in app.front.members()] == [2, 2]


def test_a_refused_connection_goes_to_the_next_replica_at_once(make_stack):
    # checks far apart: only the refusal itself can take the replica out
    stack = make_stack(health_interval=60)
    app = stack.app
    app.replicas[0].kill()
    survivor = ports(app)[1]
    assert [who(app.url) for _ in range(4)] == [survivor] * 4
    out = member(app, "app-1")
    assert (out.healthy, out.reason) == (False, "refused a connection")
    assert [(c.name, c.healthy) for c in app.front.changes()] == [("app-1", False)]


def test_a_replica_failing_its_health_check_is_out_until_healthy_again(make_stack, tmp_path):
    stack = make_stack()
    app = stack.app
    sick = tmp_path / "state" / f"sick-{ports(app)[0]}"
    sick.write_text("")
    poll(lambda: not member(app, "app-1").healthy, timeout=10, what="app-1 taken out")
    assert "answered 503" in member(app, "app-1").reason
    assert {who(app.url) for _ in range(4)} == {ports(app)[1]}
    assert app.replicas[0].running(), "taken out of rotation, not stopped"

    sick.unlink()
    poll(lambda: member(app, "app-1").healthy, timeout=10, what="app-1 back in rotation")
    assert {who(app.url) for _ in range(2)} == set(ports(app))
    assert [(c.name, c.healthy) for c in app.front.changes()] == [
        ("app-1", False),
        ("app-1", True),
    ]


def test_a_restarted_replica_comes_back_into_rotation(make_stack):
    stack = make_stack()
    app = stack.app
    app.replicas[1].kill()
    poll(lambda: not member(app, "app-2").healthy, timeout=10, what="app-2 taken out")
    app.replicas[1].restart()
    poll(lambda: member(app, "app-2").healthy, timeout=10, what="app-2 back in rotation")
    assert {who(app.url) for _ in range(2)} == set(ports(app))


def test_a_request_reset_after_it_was_sent_is_never_sent_again(make_stack, tmp_path):
    stack = make_stack(health_interval=60)
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{stack.app.url}/once", content=b"pay invoice 7", timeout=10)
    notes = sorted((tmp_path / "state").glob("posts-*"))
    assert [path.read_text() for path in notes] == ["/once\n"], "sent to exactly one replica"
    assert all(m.healthy for m in stack.app.front.members()), "a reset is not a refusal"


def test_nothing_of_the_front_or_its_replicas_outlives_the_stack(make_stack):
    stack = make_stack()
    app = stack.app
    pids = [replica.pid for replica in app.replicas]
    # a client in the middle of a request when the stack goes down
    client = socket.create_connection(("127.0.0.1", app.front.port))
    client.sendall(b"GET /who HTTP/1.1\r\nHost: x\r\n")
    poll(lambda: app.front.connections() == 1, timeout=10, what="the connection joined")
    stack.close()
    with client:
        client.settimeout(10)
        # closed either way: a reset is as good as an end of stream
        with contextlib.suppress(ConnectionResetError):
            assert client.recv(1024) == b""
    assert not port_open("127.0.0.1", app.front.port)
    assert app.front.connections() == 0
    assert not any(psutil.pid_exists(pid) for pid in pids if pid is not None)


def test_one_replica_has_no_front(make_stack):
    stack = make_stack(replicas=1)
    assert stack.app.front is None
    assert [replica.name for replica in stack.app.replicas] == ["app"]
    assert stack.app.replicas[0] is stack.processes["app"]
    assert who(stack.app_url) == stack.app.replicas[0].port


def test_a_scaled_app_runs_beside_the_stack_and_goes_with_its_block(make_stack):
    stack = make_stack(replicas=1)
    with stack.scaled_app(2) as scaled:
        names = [replica.name for replica in scaled.replicas]
        assert names == ["app-g1-1", "app-g1-2"]
        assert set(names) < set(stack.processes), "watched like every process"
        assert {who(scaled.url) for _ in range(2)} == set(ports(scaled))
        pids = [replica.pid for replica in scaled.replicas]
    assert set(stack.processes) == {"app"}
    assert not port_open("127.0.0.1", scaled.front.port)
    assert not any(psutil.pid_exists(pid) for pid in pids if pid is not None)
    assert who(stack.app_url) == stack.app.replicas[0].port, "the stack's own app is untouched"


def test_a_scaled_app_refuses_zero_replicas(make_stack):
    stack = make_stack(replicas=1)
    with (
        pytest.raises(ConfigError, match="replicas must be a whole number >= 1, got 0"),
        stack.scaled_app(0),
    ):
        pass


def test_with_no_replica_in_rotation_every_replica_is_still_tried(make_stack, tmp_path):
    stack = make_stack()
    app = stack.app
    for port in ports(app):
        (tmp_path / "state" / f"sick-{port}").write_text("")
    poll(
        lambda: not any(m.healthy for m in app.front.members()),
        timeout=10,
        what="both replicas out of rotation",
    )
    assert {who(app.url) for _ in range(2)} == set(ports(app))


def test_a_replica_that_dies_on_its_own_is_named_by_the_watch(make_stack):
    stack = make_stack()
    with ProcessWatch(stack.processes, interval=60) as watch:
        victim = stack.app.replicas[1]
        os.kill(victim.pid, signal.SIGKILL)  # a crash, not a fault asked of the stack
        exits = poll(lambda: watch.check() or None, timeout=10, what="app-2 seen gone")
    assert [(e.name, e.code) for e in exits] == [("app-2", -signal.SIGKILL)]
