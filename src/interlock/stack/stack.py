"""The stack: PostgreSQL, Redis, the simulators and the system under test, up together.

Every port is chosen before anything starts, so every process can be spawned at once:
the dependencies come up while the system under test is still importing. Teardown is
an ExitStack, so a start that fails half-way unwinds what it had started.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import string
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from interlock.config import Config, ServiceSpec
from interlock.errors import ConfigError
from interlock.faults import FaultServer
from interlock.simulators import load_simulator, parse_fault_spec
from interlock.stack import orphans
from interlock.stack.ports import free_port, port_open
from interlock.stack.postgres import EmbeddedPostgres, check_postgres_url
from interlock.stack.process import ManagedProcess
from interlock.stack.redis import EmbeddedRedis, check_redis_url

__all__ = ["Stack", "scratch_root"]


def scratch_root() -> Path:
    """tmpfs when there is one: disposable data directories should never touch a disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


def http_ok(host: str, port: int, path: str, timeout: float = 0.5) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return 200 <= connection.getresponse().status < 300
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


class Stack:
    """Context manager that brings the configured stack up and always takes it down."""

    def __init__(
        self,
        config: Config,
        *,
        run_dir: Path,
        sim_faults: tuple[str, ...] = (),
        seed: int = 0,
        with_app: bool = True,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.sim_faults = sim_faults
        self.seed = seed
        self.with_app = with_app
        self.postgres_url = ""
        self.redis_url = ""
        self.app_url: str | None = None
        self.simulators: dict[str, str] = {}
        #: what the system under test is given: through the fault proxies when there are any
        self.service_urls: dict[str, str] = {}
        self.faults: FaultServer | None = None
        self.processes: dict[str, ManagedProcess] = {}
        #: scratch folder of this stack (data directories), on tmpfs where there is one
        self.workdir: Path | None = None
        self._exit: ExitStack | None = None
        self._app_port = 0

    # -- public view ------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "postgres": self.postgres_url,
            "redis": self.redis_url,
            "app": self.app_url,
            "simulators": dict(self.simulators),
            "faults": self.faults.url if self.faults is not None else None,
        }

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> Stack:
        with ExitStack() as stack:
            self._start(stack)
            self._exit = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        exit_stack, self._exit = self._exit, None
        if exit_stack is not None:
            exit_stack.close()

    def close(self) -> None:
        self.__exit__(None, None, None)

    def _start(self, stack: ExitStack) -> None:
        config = self.config
        for spec in self.sim_faults:  # a bad spec is a usage error, before anything starts
            name, _ = parse_fault_spec(spec)
            if name not in config.simulators:
                raise ConfigError(
                    f"fault {spec!r} names {name!r}, which is not a configured "
                    f"simulator ({', '.join(config.simulators) or 'none'})"
                )
        for name in config.simulators:
            load_simulator(name)
        orphans.sweep((scratch_root(), Path(tempfile.gettempdir())))
        if config.postgres.url:
            check_postgres_url(
                config.postgres.url, source=_source("INTERLOCK_DATABASE_URL", config)
            )
        if config.redis.url:
            check_redis_url(config.redis.url, source=_source("INTERLOCK_REDIS_URL", config))

        self.log_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=orphans.workdir_name(), dir=scratch_root()))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        self.workdir = workdir
        workdir.chmod(0o711)  # PostgreSQL may run as another user and must reach its data

        if self.with_app and config.app is not None:
            # chosen first: simulators' seed data may name the app (webhooks to deliver)
            self._app_port = free_port()
            self.app_url = f"http://127.0.0.1:{self._app_port}"

        starting: list[ManagedProcess] = []
        if config.postgres.url:
            self.postgres_url = config.postgres.url
        else:
            postgres = EmbeddedPostgres(
                workdir=workdir,
                log_path=self.log_dir / "postgres.log",
                database=config.postgres.database,
            )
            self.postgres_url = postgres.url
            starting.append(postgres.prepare())
        if config.redis.url:
            self.redis_url = config.redis.url
        else:
            redis = EmbeddedRedis(workdir=workdir, log_path=self.log_dir / "redis.log")
            self.redis_url = redis.url
            starting.append(redis.prepare())
        if config.simulators:
            starting.append(self._simulator_host())
        if config.faults:
            self._fault_proxies(stack)

        services: list[ServiceSpec] = []
        if self.with_app and config.app is not None:
            services.append(config.app)
            services.extend(config.services)
        app_processes = [self._service(spec, primary=spec is config.app) for spec in services]

        for process in [*starting, *app_processes]:
            process.start()
            self.processes[process.name] = process
            stack.callback(process.stop)
            orphans.record_pid(workdir, process.pid)
        for process in [*starting, *app_processes]:
            process.wait_ready()

    def _fault_proxies(self, stack: ExitStack) -> None:
        """A proxy between the system under test and each dependency; tests talk direct."""
        upstreams = {"postgres": self.postgres_url, "redis": self.redis_url, **self.simulators}
        addresses = {name: _host_port(url) for name, url in upstreams.items()}
        server = FaultServer(
            {name: address for name, address in addresses.items() if address is not None},
            seed=self.seed,
        )
        self.faults = stack.enter_context(server)
        for name, url in upstreams.items():
            proxy = server.proxies.get(name)
            self.service_urls[name] = url if proxy is None else _with_port(url, proxy.port)

    def _simulator_host(self) -> ManagedProcess:
        ports = {name: free_port() for name in self.config.simulators}
        self.simulators = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        command = [
            sys.executable,
            "-m",
            "interlock.simulators",
            *(f"{name}={port}" for name, port in ports.items()),
            "--seed",
            str(self.seed),
        ]
        for spec in self.sim_faults:
            command += ["--fault", spec]
        if self.config.seed_data:
            assert self.workdir is not None
            seed_file = self.workdir / "seed-data.json"
            seed_file.write_text(json.dumps(self._seed_data()))
            command += ["--seed-data", str(seed_file)]
        return ManagedProcess(
            "simulators",
            command,
            log_path=self.log_dir / "simulators.log",
            probe=lambda: all(port_open("127.0.0.1", port) for port in ports.values()),
            env=os.environ,
            ready_timeout=30,
            describe=f"simulators ({', '.join(ports)})",
        )

    def _placeholders(self) -> dict[str, str]:
        """What ``{name}`` may stand for in commands, env and seed data."""
        return {
            "python": sys.executable,
            "postgres_url": self.service_urls.get("postgres", self.postgres_url),
            "redis_url": self.service_urls.get("redis", self.redis_url),
            "run_dir": str(self.run_dir),
            **{
                f"{name}_url": self.service_urls.get(name, url)
                for name, url in self.simulators.items()
            },
            "app_url": self.app_url or "",
        }

    def _seed_data(self) -> dict[str, Any]:
        """The configured seed data, placeholders filled, each checked by its simulator now
        so that a wrong key is one line before anything starts."""
        values = self._placeholders()
        filled = {}
        for name, data in self.config.seed_data.items():
            where = f"[tool.interlock.seed_data.{name}]"
            filled[name] = _fill_all(data, values, where)
            try:
                load_simulator(name)().set_baseline(filled[name])
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return filled

    def _service(self, spec: ServiceSpec, *, primary: bool) -> ManagedProcess:
        port = self._app_port if primary and self._app_port else free_port()
        values = {**self._placeholders(), "port": str(port)}
        where = f"[tool.interlock.{'app' if primary else 'services.' + spec.name}]"
        command = [_fill(part, values, where) for part in spec.command]
        env = {**os.environ, **{k: _fill(v, values, where) for k, v in spec.env.items()}}
        health = spec.health
        probe = (
            (lambda: http_ok("127.0.0.1", port, health))
            if health is not None
            else (lambda: port_open("127.0.0.1", port))
        )
        if not primary and "{port}" not in " ".join(spec.command) and health is None:
            probe = _always
        return ManagedProcess(
            spec.name,
            command,
            log_path=self.log_dir / f"{spec.name}.log",
            probe=probe,
            env=env,
            cwd=spec.cwd,
            ready_timeout=spec.ready_timeout,
            describe=f"{spec.name} ({' '.join(spec.command[:3])} ...)",
        )


def _host_port(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname or parts.hostname.startswith("/"):
        return None  # a Unix socket: nothing to put a TCP proxy in front of
    default = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "http": 80, "https": 443}
    port = parts.port or default.get(parts.scheme.split("+")[0])
    return (parts.hostname, port) if port else None


def _with_port(url: str, port: int) -> str:
    """The same URL, pointed at the proxy on loopback."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _always() -> bool:
    return True


def _fill_all(data: Any, values: dict[str, str], where: str) -> Any:
    """``_fill`` over every string inside a seed document."""
    if isinstance(data, str):
        return _fill(data, values, where)
    if isinstance(data, dict):
        return {key: _fill_all(value, values, where) for key, value in data.items()}
    if isinstance(data, list):
        return [_fill_all(value, values, where) for value in data]
    return data


def _fill(template: str, values: dict[str, str], where: str) -> str:
    """Replace ``{name}`` placeholders; an unknown one is a configuration error."""
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None and field not in values:
            raise ConfigError(
                f"{where}: unknown placeholder {{{field}}} in {template!r}",
                hint=f"known: {', '.join('{' + k + '}' for k in sorted(values))}",
            )
    try:
        return template.format(**values)
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{where}: bad placeholder in {template!r}: {exc}") from None


def _source(var: str, config: Config) -> str:
    section = "postgres" if "DATABASE" in var else "redis"
    return var if os.environ.get(var) else f"[tool.interlock.{section}] url"
