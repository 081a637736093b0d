"""The stack on real processes: up, reachable, and nothing left behind, even after a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from interlock.config import Config, PostgresConfig, RedisConfig, ServiceSpec
from interlock.errors import ConfigError, DependencyError, ServiceStartError
from interlock.ports import free_port, port_open
from interlock.stack import ManagedProcess, Stack, StackStateError
from interlock.stack.redis import redis_server_binary


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
                proc.environ().get("INTERLOCK_STACK_OWNER", "").startswith(mine)
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


def bare(tmp_path: Path, **changes: object) -> Config:
    """A stack of nothing but its work dir: quick to enter and close."""
    quick: dict[str, object] = {
        "postgres": PostgresConfig(enabled=False),
        "redis": RedisConfig(enabled=False),
        "simulators": (),
        "faults": False,
    }
    return config(tmp_path, **{**quick, **changes})


def test_entering_twice_or_after_close_raises_and_keeps_the_first_cleanup(tmp_path):
    stack = Stack(bare(tmp_path), run_dir=tmp_path / "run")
    with stack:
        workdir = stack.workdir
        assert workdir is not None
        with pytest.raises(StackStateError, match="already open"):
            stack.__enter__()
        assert workdir.is_dir()
    assert not workdir.exists()
    with pytest.raises(StackStateError, match="was closed"):
        stack.__enter__()


def test_a_forked_child_closing_the_stack_leaves_it_up(tmp_path):
    cfg = config(tmp_path, postgres=PostgresConfig(enabled=False), simulators=(), faults=False)
    with Stack(cfg, run_dir=tmp_path / "run") as stack:
        assert stack.redis_url is not None
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child, as multiprocessing's would
            stack.close()
            os._exit(0)
        _, code = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(code) == 0
        assert stack.workdir is not None
        assert stack.workdir.is_dir()
        assert stack.processes["redis"].running()
        host, port = stack.redis_url.removeprefix("redis://").split("/")[0].split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16).startswith(b"+PONG")


def test_disabled_servers_are_not_started_and_their_urls_are_none(tmp_path, leftovers):
    said: list[str] = []
    with Stack(bare(tmp_path), run_dir=tmp_path / "run", progress=said.append) as stack:
        assert stack.postgres_url is None
        assert stack.redis_url is None
        assert stack.processes == {}
        with pytest.raises(ConfigError, match=r"disabled \(\[tool.interlock.postgres\] enabled\)"):
            stack.url_of("postgres")
    assert "PostgreSQL: disabled" in said
    assert "Redis: disabled" in said
    assert leftovers() == set()


def test_a_placeholder_of_a_disabled_server_names_it_and_where_it_is_used(tmp_path, leftovers):
    app = ServiceSpec(
        name="app", command=("{python}", "-c", "pass"), env={"DB": "{postgres_url}"}, cwd=tmp_path
    )
    with pytest.raises(ConfigError) as info:
        Stack(bare(tmp_path, app=app), run_dir=tmp_path / "run").__enter__()
    message = str(info.value)
    assert "[tool.interlock.app]: placeholder {postgres_url}" in message
    assert "PostgreSQL is disabled" in message
    assert leftovers() == set()


def test_progress_says_which_servers_and_how_long_start_up_took(tmp_path):
    said: list[str] = []
    cfg = config(tmp_path, simulators=(), faults=False)
    with Stack(cfg, run_dir=tmp_path / "run", progress=said.append):
        pass
    assert any(line.startswith("PostgreSQL: embedded ") for line in said), said
    assert any(re.match(r"Redis: embedded redis-server \d+\.\d+", line) for line in said), said
    assert re.fullmatch(r"stack up in \d+\.\d\d s", said[-1]), said


def test_a_redis_url_handed_in_is_reported_with_its_password_masked(tmp_path, monkeypatch):
    port = free_port()
    server = ManagedProcess(
        "secured-redis",
        [str(redis_server_binary()), "--port", str(port), "--requirepass", "s3cret", "--save", ""],
        log_path=tmp_path / "redis.log",
        probe=lambda: port_open("127.0.0.1", port),
    )
    url = f"redis://:s3cret@127.0.0.1:{port}/0"
    monkeypatch.setenv("INTERLOCK_REDIS_URL", url)
    said: list[str] = []
    cfg = bare(tmp_path, redis=RedisConfig(url=url))
    with server, Stack(cfg, run_dir=tmp_path / "run", progress=said.append) as stack:
        assert stack.redis_url == url
        assert stack.describe()["redis"] == f"redis://:***@127.0.0.1:{port}/0"
    redis_lines = [line for line in said if line.startswith("Redis: ")]
    assert redis_lines == [
        f"Redis: redis://:***@127.0.0.1:{port}/0 (INTERLOCK_REDIS_URL), server 6.2.14"
    ]
    assert not any("s3cret" in line for line in said)


def test_the_simulators_journals_are_saved_with_the_run(tmp_path):
    cfg = bare(tmp_path, simulators=("stripe",))
    with Stack(cfg, run_dir=tmp_path / "run") as stack:
        httpx.get(
            stack.simulators["stripe"] + "/v1/customers",
            headers={"Authorization": "Bearer sk_test_journal"},
        )
    journal = json.loads((tmp_path / "run" / "journals" / "stripe.json").read_text())
    assert "/v1/customers" in json.dumps(journal)
    assert "sk_test_journal" not in json.dumps(journal)


def test_an_app_never_healthy_is_reported_with_the_url_polled_and_its_answer(tmp_path, leftovers):
    script = (
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(503); self.end_headers(); self.wfile.write(b'warming up')\n"
        "    def log_message(self, *a): pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n"
    )
    (tmp_path / "app.py").write_text(script)
    app = ServiceSpec(
        name="app",
        command=("{python}", "app.py", "{port}"),
        health="/health",
        ready_timeout=1,
        cwd=tmp_path,
    )
    with pytest.raises(ServiceStartError) as info:
        Stack(bare(tmp_path, app=app), run_dir=tmp_path / "run").__enter__()
    assert re.search(r"GET http://127.0.0.1:\d+/health answered 503: warming up", str(info.value))
    assert leftovers() == set()


#: brings a stack up where /dev/shm is a 16 MB tmpfs and TMPDIR is a very long path
SMALL_SHM = """
set -e
mount -t tmpfs -o size=16m tmpfs /dev/shm
mkdir -p -m 755 "$TMPDIR"
exec "$PYTHON" - "$WORK" <<'EOF'
import json, sys
from pathlib import Path
import psycopg
from interlock.config import Config, PostgresConfig
from interlock.stack import Stack

work = Path(sys.argv[1])
said = []
config = Config(root=work, tests=work, artifacts=work / "runs",
                postgres=PostgresConfig(database="app"), faults=False)
with Stack(config, run_dir=work / "run", progress=said.append) as stack:
    with psycopg.connect(stack.postgres_url) as conn:
        conn.execute("SELECT 1")
    print(json.dumps({"workdir": str(stack.workdir), "said": said}))
EOF
"""


@pytest.fixture
def long_tmpdir() -> Iterator[Path]:
    """A TMPDIR far past a Unix socket path's 107 bytes, reachable by PostgreSQL's user."""
    top = Path(tempfile.mkdtemp(prefix="long-tmpdir-", dir="/tmp"))
    top.chmod(0o755)
    try:
        yield top / ("t" * 60) / ("m" * 60) / ("p" * 60)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_small_dev_shm_and_a_long_tmpdir_still_bring_postgres_up(tmp_path, long_tmpdir):
    long_tmp = long_tmpdir
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", SMALL_SHM],
        env={
            **os.environ,
            "TMPDIR": str(long_tmp),
            "PYTHON": sys.executable,
            "WORK": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["workdir"]).parent == long_tmp
    assert any(line.startswith("scratch: /dev/shm has ") for line in report["said"])


def test_a_private_tmpdir_under_root_is_passed_over_for_one_postgres_can_reach(tmp_path):
    private = tmp_path / "private"  # under pytest's 0700 folder: PostgreSQL's user cannot enter
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", SMALL_SHM],
        env={**os.environ, "TMPDIR": str(private), "PYTHON": sys.executable, "WORK": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["workdir"]).parent in (Path("/var/tmp"), Path("/tmp"))


def test_postgres_paused_killed_and_restarted_serves_again(tmp_path, leftovers):
    cfg = config(tmp_path, redis=RedisConfig(enabled=False), simulators=(), faults=False)
    with Stack(cfg, run_dir=tmp_path / "run") as stack:
        url = stack.url_of("postgres")
        server = stack.processes["postgres"]
        with psycopg.connect(url) as conn:  # a backend: a child in a session of its own
            server.pause()
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(url, connect_timeout=1)
            server.resume()
            assert conn.execute("SELECT 1").fetchone() == (1,)
        server.pause()
        server.kill()
        server.kill()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=1)
        server.restart()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("app",)
    assert leftovers() == set()
