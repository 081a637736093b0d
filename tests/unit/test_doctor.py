"""interlock doctor: no credential in what it prints, disabled servers skipped, tmpfs room."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock.config import Config, PostgresConfig, RedisConfig
from interlock.doctor import Check, run_checks
from interlock.ports import free_port, port_open
from interlock.stack import ManagedProcess
from interlock.stack.redis import redis_server_binary

#: runs "$0" -c "$1" where /dev/shm is a 64 MB tmpfs, Docker's default
IN_SMALL_SHM = (
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount -t tmpfs -o size=64m tmpfs /dev/shm && exec "$0" -c "$1"',
)


def config(tmp_path: Path, **changes: object) -> Config:
    return Config(root=tmp_path, tests=tmp_path, artifacts=tmp_path / "runs").with_overrides(
        **changes
    )


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.fixture
def secured_redis(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = ManagedProcess(
        "secured-redis",
        [str(redis_server_binary()), "--port", str(port), "--requirepass", "s3cret", "--save", ""],
        log_path=tmp_path / "redis.log",
        probe=lambda: port_open("127.0.0.1", port),
    )
    with server:
        yield f"redis://:s3cret@127.0.0.1:{port}/0"


def test_a_redis_password_is_masked(tmp_path: Path, secured_redis: str) -> None:
    checks = by_name(run_checks(config(tmp_path, redis=RedisConfig(url=secured_redis))))
    line = checks["redis"].line()
    assert checks["redis"].ok, line
    assert "redis://:***@127.0.0.1:" in line
    assert "s3cret" not in line


@pytest.mark.parametrize(
    ("section", "url"),
    [
        ("redis", "redis://:s3cret@127.0.0.1:notaport/0"),
        ("redis", "http://:s3cret@127.0.0.1:6379/0"),
        ("postgres", "postgresql://me:s3cret@127.0.0.1:99999999/db"),
        ("postgres", "mysql://me:s3cret@127.0.0.1/db"),
    ],
)
def test_a_malformed_url_is_refused_without_its_password(
    tmp_path: Path, section: str, url: str
) -> None:
    settings = RedisConfig(url=url) if section == "redis" else PostgresConfig(url=url)
    check = by_name(run_checks(config(tmp_path, **{section: settings})))[section]
    assert not check.ok
    assert "s3cret" not in check.line()
    assert "***" in check.line()


def test_disabled_servers_are_not_checked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "")  # nothing could be run, were anything run
    cfg = config(tmp_path, postgres=PostgresConfig(enabled=False), redis=RedisConfig(enabled=False))
    checks = by_name(run_checks(cfg))
    for name in ("postgres", "redis"):
        assert checks[name].ok
        assert checks[name].detail.startswith("disabled")


def test_a_dev_shm_too_small_for_a_stack_is_a_warning_with_its_fix(tmp_path: Path) -> None:
    script = (
        "from pathlib import Path\n"
        "from interlock.config import Config\n"
        "from interlock.doctor import run_checks\n"
        f"root = Path({str(tmp_path)!r})\n"
        "config = Config(root=root, tests=root, artifacts=root / 'runs')\n"
        "print(next(c for c in run_checks(config) if c.name == 'scratch').line())\n"
    )
    result = subprocess.run(
        [*IN_SMALL_SHM, sys.executable, script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("warn  scratch      /dev/shm has 6"), result.stdout
    assert "fix: enlarge /dev/shm" in result.stdout
