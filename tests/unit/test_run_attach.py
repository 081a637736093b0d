"""``interlock run --attach``: a run on the stack of a running ``interlock env up``."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis as redis_lib
from tests.unit.test_cli import assert_one_line_error, env_up, first_line, interlock

from interlock.cli.envstate import live_envs, state_dir
from interlock.config import load_config
from interlock.errors import UsageError
from interlock.stack import baseline
from interlock.stack.attach import attach_lock

PROJECT = """\
[tool.interlock]
tests = "tests"
artifacts = "runs"
simulators = ["stripe"]
"""

#: runs on the attached env: sees it clean, then leaves dirt for the next run to clear
ON_THE_ENV = """
import httpx
import pytest
import redis as redis_lib

from interlock.errors import UsageError


def test_the_env_is_clean_then_dirtied(stack, db, sims, faults):
    assert db.count("notes") == 0
    assert db.one("SELECT version_num FROM alembic_version") == {"version_num": "head1"}
    client = redis_lib.Redis.from_url(stack.redis_url)
    assert client.dbsize() == 0
    assert sims["stripe"].journal() == []
    proxies = httpx.get(f"{faults.url}/proxies").json()
    assert all(proxy["toxics"] == [] for proxy in proxies.values())
    with pytest.raises(UsageError, match="attached run"):
        faults["redis"]
    with pytest.raises(pytest.UsageError):
        faults.process("redis")
    # identities restart with the truncation: this row is 1 again on every run
    row = db.one("INSERT INTO notes (body) VALUES ('x') RETURNING id")
    assert row == {"id": 1}
    client.set("left-over", "1")
"""


def dirty(info: dict[str, Any]) -> None:
    """Rows, a Redis key, a simulator call and a network fault: what a run leaves behind."""
    with psycopg.connect(info["postgres"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num text)")
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
        conn.execute("DELETE FROM alembic_version")
        conn.execute("INSERT INTO alembic_version VALUES ('head1')")
        conn.execute("INSERT INTO notes (body) VALUES ('a'), ('b')")
    client = redis_lib.Redis.from_url(info["redis"])
    client.set("left-over", "1")
    client.close()
    httpx.get(f"{info['simulators']['stripe']}/v1/customers")
    added = httpx.post(
        f"{info['faults']}/proxies/redis/toxics",
        json={"type": "latency", "attributes": {"latency": 100}},
    )
    assert added.status_code == 200, added.text


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A project with one test file, and its ``env up --no-app`` running."""
    root = tmp_path_factory.mktemp("attach")
    (root / "pyproject.toml").write_text(PROJECT)
    (root / "tests").mkdir()
    (root / "tests" / "test_env.py").write_text(textwrap.dedent(ON_THE_ENV))
    process, err = env_up(root, "--no-app", cwd=root)
    with process:
        try:
            info = first_line(process, err)
            info["pid"] = process.pid
            yield root, info
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.integration_timeout(300_000)  # two whole runs
def test_an_attached_run_resets_the_env_and_never_stops_it(env):
    root, info = env
    for _ in range(2):  # the second run finds the first one's dirt cleared too
        dirty(info)
        result = interlock("run", "--attach", cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PostgreSQL: embedded" not in result.stdout  # nothing was started
        assert f"attached to env {info['pid']}: 1 tables back as the env came up" in result.stdout
    assert info["pid"] in live_envs(load_config(root))  # the env is still up and published
    with psycopg.connect(info["postgres"]) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (1,)
    (run_dir, *_) = sorted((root / "runs").iterdir(), reverse=True)
    durations = json.loads((run_dir / "durations.json").read_text())
    assert [p["phase"] for p in durations["startup"]] == ["attach: reset"]
    assert durations["tests"][0]["nodeid"].endswith("test_the_env_is_clean_then_dirtied")
    assert "interlock: durations" in result.stdout


@pytest.mark.integration_timeout(300_000)  # a whole run
def test_a_second_run_on_the_same_env_is_refused_with_one_line(env):
    root, info = env
    with attach_lock(state_dir(load_config(root)), info["pid"]):
        result = interlock("run", "--attach", cwd=root)
        assert_one_line_error(result, f"is attached to the env (pid {info['pid']})")
        second = attach_lock(state_dir(load_config(root)), info["pid"])
        with pytest.raises(UsageError, match="another run"), second:
            pass
    # released with its holder: the next run attaches, and leaves no lock file behind
    assert interlock("run", "--attach", cwd=root).returncode == 0
    assert not list(state_dir(load_config(root)).glob("*.lock"))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-n", "2"], "--attach runs serially"),
        (["--sim-fault", "stripe:status=500"], "belong to 'interlock env up'"),
        (["--attach=1"], "no running 'interlock env up' with that pid"),
        (["--attach=me"], "expected the pid"),
    ],
)
def test_attach_with_what_it_cannot_honour_is_one_line(env, args, fragment):
    root, _ = env
    attach = [] if any(a.startswith("--attach=") for a in args) else ["--attach"]
    assert_one_line_error(interlock("run", *attach, *args, cwd=root), fragment)


def test_a_suite_after_attach_is_the_suite_not_a_pid(env):
    root, info = env
    dirty(info)
    # --attach's PID is optional: the file after it is what runs, as after the suite
    result = interlock("run", "--attach", "tests/test_env.py", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_restore_puts_back_the_rows_of_the_snapshot_and_nothing_else(env):
    """What the app wrote as it started (its first admin) survives; what tests wrote goes."""
    _, info = env
    with psycopg.connect(info["postgres"], autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS restored")
        conn.execute("CREATE DATABASE restored")
    url = info["postgres"].rsplit("/", 1)[0] + "/restored"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num text)")
        conn.execute("INSERT INTO alembic_version VALUES ('head1')")
        # the child sorts before its parent: rows must still go back parents first
        conn.execute("CREATE TABLE b_users (id serial PRIMARY KEY, email text)")
        conn.execute(
            "CREATE TABLE a_orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "user_id int NOT NULL REFERENCES b_users (id))"
        )
        conn.execute("INSERT INTO b_users (email) VALUES ('admin@example.com')")
        conn.execute("INSERT INTO a_orders (user_id) VALUES (1)")
    assert baseline.snapshot(url) == 2
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO b_users (email) VALUES ('test@example.com')")
        conn.execute("INSERT INTO a_orders (user_id) VALUES (2)")
        conn.execute("UPDATE b_users SET email = 'changed' WHERE id = 1")
        conn.execute("UPDATE alembic_version SET version_num = 'head2'")
    assert baseline.restore(url) == (2, True)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT id, email FROM b_users").fetchall() == [
            (1, "admin@example.com")
        ]
        assert conn.execute("SELECT id, user_id FROM a_orders").fetchall() == [(1, 1)]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("head2",)]
        # the sequences carry on from the snapshot: no id of a kept row is handed out again
        new = conn.execute("INSERT INTO b_users (email) VALUES ('x') RETURNING id").fetchone()
        assert new == (2,)
        order = conn.execute("INSERT INTO a_orders (user_id) VALUES (1) RETURNING id").fetchone()
        assert order == (2,)


@pytest.mark.integration_timeout(120_000)
def test_the_snapshot_in_a_server_handed_in_goes_with_the_env(env, tmp_path, monkeypatch):
    root, info = env
    with psycopg.connect(info["postgres"], autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS handed_in")
        conn.execute("CREATE DATABASE handed_in")
    url = info["postgres"].rsplit("/", 1)[0] + "/handed_in"
    query = "SELECT count(*) FROM pg_namespace WHERE nspname = %s"
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", url)
    process, err = env_up(tmp_path, "--no-app", cwd=root)
    with process:
        try:
            assert first_line(process, err)["postgres"] == url
            with psycopg.connect(url) as conn:
                assert conn.execute(query, (baseline.SCHEMA,)).fetchone() == (1,)
        finally:
            process.terminate()
            process.wait(timeout=30)
    with psycopg.connect(url) as conn:
        assert conn.execute(query, (baseline.SCHEMA,)).fetchone() == (0,)
