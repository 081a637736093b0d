"""The stack on real processes: up, reachable, and nothing left behind, even after a failure."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from interlock.config import Config, PostgresConfig, ServiceSpec
from interlock.errors import ConfigError, DependencyError, ServiceStartError
from interlock.stack import Stack
from interlock.stack.ports import port_open


def config(tmp_path: Path, **changes: object) -> Config:
    base = Config(
        root=tmp_path,
        tests=tmp_path,
        artifacts=tmp_path / "runs",
        postgres=PostgresConfig(database="app"),
        simulators=("stripe",),
    )
    return base.with_overrides(**changes)


def tagged_processes() -> set[psutil.Process]:
    """Live processes started by a stack of this test process (a session stack included)."""
    mine = f"{psutil.Process().pid}:"
    found = set()
    for proc in psutil.process_iter():
        try:
            if (
                proc.environ().get("INTERLOCK_OWNER", "").startswith(mine)
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                found.add(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def leftovers():
    """Processes tagged by us that were not running before the test: should be none."""
    before = tagged_processes()
    return lambda: tagged_processes() - before


def test_dependencies_come_up_reachable_and_go_away(tmp_path, leftovers):
    with Stack(config(tmp_path), run_dir=tmp_path / "run") as stack:
        with psycopg.connect(stack.postgres_url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("app",)
        host, port = stack.redis_url.removeprefix("redis://").split("/")[0].split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16).startswith(b"+PONG")
        assert set(stack.simulators) == {"stripe"}
        assert leftovers(), "the stack's processes carry the owner tag"
        workdir = stack.workdir
        assert workdir is not None
        assert (workdir / "postgres" / "PG_VERSION").is_file()
    assert leftovers() == set()
    assert not workdir.exists()
    assert not port_open(host, int(port))
    assert (tmp_path / "run" / "logs" / "postgres.log").exists()


def test_a_service_that_dies_at_start_is_reported_with_its_log_and_everything_stops(
    tmp_path, leftovers
):
    app = ServiceSpec(
        name="app",
        command=("{python}", "-c", "import sys; print('no config here'); sys.exit(3)"),
        health="/health",
        ready_timeout=20,
        cwd=tmp_path,
    )
    with pytest.raises(ServiceStartError) as info:
        Stack(config(tmp_path, app=app), run_dir=tmp_path / "run").__enter__()
    message = str(info.value)
    assert "exited with code 3" in message
    assert "no config here" in message
    assert str(tmp_path / "run" / "logs" / "app.log") in message
    assert leftovers() == set()


def test_the_app_gets_its_dependencies_addresses(tmp_path):
    script = (
        "import os, http.server, sys\n"
        "body = os.environ['DB'].encode()\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n"
    )
    (tmp_path / "app.py").write_text(script)
    app = ServiceSpec(
        name="app",
        command=("{python}", "app.py", "{port}"),
        health="/",
        env={"DB": "{postgres_url}|{stripe_url}"},
        cwd=tmp_path,
    )
    with Stack(config(tmp_path, app=app), run_dir=tmp_path / "run") as stack:
        import httpx

        assert stack.app_url is not None
        body = httpx.get(stack.app_url).text
    # the app is given the fault proxies' addresses, which lead to the same servers
    assert body == f"{stack.service_urls['postgres']}|{stack.service_urls['stripe']}"


def test_unknown_placeholder_is_a_configuration_error(tmp_path, leftovers):
    app = ServiceSpec(name="app", command=(sys.executable, "{prot}"), cwd=tmp_path)
    with pytest.raises(ConfigError) as info:
        Stack(config(tmp_path, app=app), run_dir=tmp_path / "run").__enter__()
    assert "unknown placeholder {prot}" in str(info.value)
    assert leftovers() == set()


def test_unreachable_database_url_names_server_address_and_variable(
    tmp_path, monkeypatch, leftovers
):
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", "postgresql://u:secret@127.0.0.1:1/x")
    bad = config(tmp_path, postgres=PostgresConfig(url="postgresql://u:secret@127.0.0.1:1/x"))
    with pytest.raises(DependencyError) as info:
        Stack(bad, run_dir=tmp_path / "run").__enter__()
    message = str(info.value)
    assert "PostgreSQL at 127.0.0.1:1 (from INTERLOCK_DATABASE_URL)" in message
    assert "secret" not in message
    assert leftovers() == set()
