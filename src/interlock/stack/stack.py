"""The stack: PostgreSQL, Redis, the simulators and the system under test, up together.

Every port is chosen before anything starts, so every process can be spawned at once:
the dependencies come up while the system under test is still importing. Teardown is
an ExitStack, so a start that fails half-way unwinds what it had started. The stack
holds a lock on its work directory for its whole life (see ``orphans``), and only the
process that built it ever tears it down: a forked child's ``close()`` does nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from interlock.config import Config, ServiceSpec
from interlock.errors import ConfigError
from interlock.faults import FaultServer
from interlock.lifecycle import Lifecycle, State, StateError
from interlock.ports import free_port, port_open
from interlock.simulators import load_simulator, parse_fault_spec
from interlock.stack import orphans
from interlock.stack import postgres as pg
from interlock.stack.app import App, front_for, replica_names
from interlock.stack.process import ManagedProcess
from interlock.stack.redaction import redact, redact_text
from interlock.stack.redis import EmbeddedRedis, check_redis_url, redis_version
from interlock.stack.wiring import HttpProbe, fill, fill_all, host_port, with_port

__all__ = ["Stack", "StackState", "StackStateError", "free_bytes", "scratch_root"]

SHM = Path("/dev/shm")
#: room a stack's data needs beyond the PostgreSQL template: WAL growth, Redis, seed files
HEADROOM = 48 * 1024 * 1024

Progress = Callable[[str], None]


#: a Stack's states and the error for misuse are every resource's (interlock.lifecycle)
StackState = State
StackStateError = StateError


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding ``path``."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _usable(path: Path) -> bool:
    """Writable by us and, under root, passable by PostgreSQL's unprivileged user."""
    try:
        if not (path.is_dir() and os.access(path, os.W_OK)):
            return False
        return os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in (path, *path.parents))
    except OSError:
        return False


def scratch_root(need: int = 0) -> Path:
    """tmpfs when there is one with ``need`` bytes free: disposable data never touches a disk.

    Otherwise the temp dir (``TMPDIR``), or ``/var/tmp`` or ``/tmp`` when PostgreSQL's
    user could not reach into it (a private TMPDIR under root's home).
    """
    try:
        if _usable(SHM) and free_bytes(SHM) >= need:
            return SHM
    except OSError:
        pass
    for candidate in (Path(tempfile.gettempdir()), Path("/var/tmp"), Path("/tmp")):
        if _usable(candidate):
            return candidate
    return Path(tempfile.gettempdir())


def _quiet(_: str) -> None:
    pass


class Stack:
    """Context manager that brings the configured stack up and always takes it down.

    ``progress`` hears, one line each, which PostgreSQL and Redis the stack uses and
    how long start-up took. ``postgres_url`` / ``redis_url`` are None when that server
    is disabled in the configuration. Entering raises StackStateError when the stack
    was entered before; a start that fails raises ConfigError, DependencyError or
    ServiceStartError, having stopped everything it started. ``service_env`` is added to
    the environment of the system under test's processes (the app and its services;
    their own configured ``env`` wins), so a run can set it up (e.g. coverage) without
    changing its own environment.
    """

    def __init__(
        self,
        config: Config,
        *,
        run_dir: Path,
        sim_faults: tuple[str, ...] = (),
        seed: int = 0,
        with_app: bool = True,
        progress: Progress | None = None,
        service_env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.service_env = dict(service_env or {})
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.sim_faults = sim_faults
        self.seed = seed
        self.with_app = with_app
        self.progress: Progress = progress or _quiet
        self.postgres_url: str | None = None
        self.redis_url: str | None = None
        self.app_url: str | None = None
        #: the app's replicas and balancing front (None without an app)
        self.app: App | None = None
        self.simulators: dict[str, str] = {}
        #: what the system under test is given: through the fault proxies when there are any
        self.service_urls: dict[str, str] = {}
        self.faults: FaultServer | None = None
        self.processes: dict[str, ManagedProcess] = {}
        #: scratch folder of this stack (data directories), on tmpfs where there is room
        self.workdir: Path | None = None
        self._life = Lifecycle("this Stack")
        self._exit: ExitStack | None = None
        self._app_port = 0
        self._builder_pid: int | None = None
        self._groups = 0

    # -- public view ------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The stack's addresses for people and tools (``env up``); passwords masked, since
        this is printed: a server handed in is reached with the URL the user already has."""
        return {
            "postgres": redact(self.postgres_url) if self.postgres_url else None,
            "redis": redact(self.redis_url) if self.redis_url else None,
            "app": self.app_url,
            "simulators": dict(self.simulators),
            "faults": self.faults.url if self.faults is not None else None,
        }

    def url_of(self, server: str) -> str:
        """The URL of ``"postgres"`` or ``"redis"``; raises ConfigError when it is disabled
        (or the stack is not up), naming the setting that turned it off."""
        url = {"postgres": self.postgres_url, "redis": self.redis_url}.get(server)
        if url is not None:
            return url
        if server not in ("postgres", "redis"):
            raise ConfigError(f"no server {server!r} in a stack: postgres or redis")
        section = getattr(self.config, server)
        if not section.enabled:
            raise ConfigError(
                f"this needs {server}, which is disabled ([tool.interlock.{server}] enabled)"
            )
        raise StackStateError(f"{server} has no URL yet: the stack is {self.state.name.lower()}")

    # -- lifecycle --------------------------------------------------------------------
    @property
    def state(self) -> State:
        """UNOPENED, then OPENED while up, then CLOSED for good (also after a failed start)."""
        return self._life.state

    def __enter__(self) -> Stack:
        self._life.open()  # StateError when entered twice, ClientClosed once closed
        self._builder_pid = os.getpid()
        began = time.perf_counter()
        try:
            with ExitStack() as stack:
                self._start(stack)
                self._exit = stack.pop_all()
        except BaseException:
            self._life.close()
            raise
        self.progress(f"stack up in {time.perf_counter() - began:.2f} s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._builder_pid != os.getpid():
            return  # a forked child: the stack belongs to the process that built it
        self._life.close()
        for process in self.processes.values():
            process.observer = None  # stopped at teardown: the end of the run, not a fault
        exit_stack, self._exit = self._exit, None
        if exit_stack is not None:
            exit_stack.close()

    def close(self) -> None:
        """Take everything down (once); in a forked child, leave it all to the builder."""
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
        embedded_pg = config.postgres.enabled and not config.postgres.url
        embedded_redis = config.redis.enabled and not config.redis.url
        self._announce_external()

        need = HEADROOM + (pg.template_bytes(config.postgres.database) if embedded_pg else 0)
        root = scratch_root(need)
        orphans.sweep((SHM, Path(tempfile.gettempdir())))
        if root != SHM and SHM.is_dir():
            self.progress(
                f"scratch: {SHM} has {free_bytes(SHM) // 2**20} MB free, a stack needs "
                f"{need // 2**20} MB: data goes to {root} (disk) instead"
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        claim = orphans.claim_workdir(root)
        sentinel = orphans.watch(claim.path)
        if sentinel is not None:  # its wait: after the release below (LIFO)
            stack.callback(_reap_sentinel, sentinel)
        stack.callback(claim.release)
        workdir = self.workdir = claim.path
        workdir.chmod(0o711)  # PostgreSQL may run as another user and must reach its data

        if self.with_app and config.app is not None:
            # chosen first: simulators' seed data may name the app (webhooks to deliver)
            self._app_port = free_port()
            self.app_url = f"http://127.0.0.1:{self._app_port}"

        starting: list[ManagedProcess] = []
        if embedded_pg:
            postgres = pg.EmbeddedPostgres(
                workdir=workdir,
                log_path=self.log_dir / "postgres.log",
                database=config.postgres.database,
                settings=config.postgres.settings,
            )
            self.postgres_url = postgres.url
            starting.append(postgres.prepare())
            self.progress(f"PostgreSQL: embedded {pg.version()} on {postgres.url}")
        if embedded_redis:
            redis = EmbeddedRedis(workdir=workdir, log_path=self.log_dir / "redis.log")
            self.redis_url = redis.url
            starting.append(redis.prepare())
            self.progress(f"Redis: embedded redis-server {redis_version()} on {redis.url}")
        if config.simulators:
            starting.append(self._simulator_host())
        if config.faults:
            self._fault_proxies(stack)

        app = config.app if self.with_app else None
        replicas = self._replicas(app, app.replicas) if app is not None else []
        services = [self._service(each, primary=False) for each in config.services if app]
        self._launch(stack, [*starting, *replicas, *services], on_started=self._journals_saved)
        if app is not None:
            # once every replica is ready, so that its first health check is a fair one
            front = None
            if app.replicas > 1:
                front = stack.enter_context(front_for(app, replicas, port=self._app_port))
            self.app = App(self.app_url or "", replicas, front)

    def _launch(
        self,
        stack: ExitStack,
        processes: list[ManagedProcess],
        *,
        on_started: Callable[[ExitStack], None] | None = None,
        forget: bool = False,
    ) -> None:
        """Start ``processes`` together, each stopped by ``stack`` (and dropped from
        ``processes`` when ``forget``), then wait until every one is ready."""
        assert self.workdir is not None
        for process in processes:
            process.env.update(orphans.owner_env(self.workdir))
            process.start()
            self.processes[process.name] = process
            if forget:
                stack.callback(self.processes.pop, process.name, None)
            stack.callback(process.stop)
            orphans.record_pid(self.workdir, process.pid)
        if on_started is not None:
            on_started(stack)
        for process in processes:
            process.wait_ready()

    def _journals_saved(self, stack: ExitStack) -> None:
        if self.simulators:  # runs before the simulators stop
            stack.callback(self._save_journals)

    def _replicas(self, spec: ServiceSpec, count: int, group: str = "") -> list[ManagedProcess]:
        """The app's processes: one on the app's port, or ``count`` each on its own port."""
        names = replica_names(spec, count, group)
        if len(names) == 1 and not group:
            return [self._service(spec, primary=True)]
        return [self._service(spec, primary=True, name=n, port=free_port()) for n in names]

    @contextmanager
    def scaled_app(self, replicas: int) -> Iterator[App]:
        """Another ``replicas`` processes of the app behind a front of their own, on this
        stack's dependencies, for the ``with`` block; stopped (and their front) at its end.

        What the configured app cannot do for a test that needs more replicas than the
        run's. They are ``app-g<N>-1``, ... in ``processes`` (watched, faultable) and take
        ``{app_url}`` as the stack's app. Raises ConfigError without an app or with
        ``replicas`` < 1, StackStateError when the stack is not up, ServiceStartError.
        """
        spec = self.config.app
        if not self.with_app or spec is None:
            raise ConfigError("no app to scale: [tool.interlock.app] is not configured or off")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise ConfigError(f"replicas must be a whole number >= 1, got {replicas!r}")
        if self.state is not State.OPENED:
            raise StackStateError(f"scaled_app needs the stack up: it is {self.state.name}")
        self._groups += 1
        with ExitStack() as stack:
            processes = self._replicas(spec, replicas, group=f"g{self._groups}")
            self._launch(stack, processes, forget=True)
            front = stack.enter_context(front_for(spec, processes, port=free_port()))
            yield App(front.url, processes, front)

    def _announce_external(self) -> None:
        """Check the servers handed in, and say which server each dependency is."""
        config = self.config
        if not config.postgres.enabled:
            self.progress("PostgreSQL: disabled")
        elif config.postgres.url:
            source = _source("INTERLOCK_DATABASE_URL")
            found = pg.check_postgres_url(config.postgres.url, source=source)
            self.postgres_url = config.postgres.url
            self.progress(f"PostgreSQL: {redact(config.postgres.url)} ({source}), server {found}")
        if not config.redis.enabled:
            self.progress("Redis: disabled")
        elif config.redis.url:
            source = _source("INTERLOCK_REDIS_URL")
            found = check_redis_url(config.redis.url, source=source)
            self.redis_url = config.redis.url
            self.progress(f"Redis: {redact(config.redis.url)} ({source}), server {found}")

    def _save_journals(self) -> None:
        """Each simulator's journal, kept with the run as ``journals/<name>.json``."""
        folder = self.run_dir / "journals"
        folder.mkdir(parents=True, exist_ok=True)

        def save(name: str, url: str) -> None:
            try:
                with urllib.request.urlopen(f"{url}/__interlock/journal", timeout=5) as answer:
                    body = answer.read()
            except (OSError, urllib.error.URLError) as exc:
                body = json.dumps({"error": f"journal not saved: {exc}"}).encode()
            (folder / f"{name}.json").write_bytes(body)

        # at once: teardown waits for the slowest, not for the sum
        with ThreadPoolExecutor(max_workers=len(self.simulators)) as pool:
            for done in [pool.submit(save, *item) for item in self.simulators.items()]:
                done.result()

    def _fault_proxies(self, stack: ExitStack) -> None:
        """A proxy between the system under test and each dependency; tests talk direct."""
        upstreams = {
            **({"postgres": self.postgres_url} if self.postgres_url else {}),
            **({"redis": self.redis_url} if self.redis_url else {}),
            **self.simulators,
        }
        addresses = {name: host_port(url) for name, url in upstreams.items()}
        server = FaultServer(
            {name: address for name, address in addresses.items() if address is not None},
            seed=self.seed,
        )
        self.faults = stack.enter_context(server)
        for name, url in upstreams.items():
            proxy = server.proxies.get(name)
            self.service_urls[name] = url if proxy is None else with_port(url, proxy.port)

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
            ready_timeout=30,
            describe=f"simulators ({', '.join(ports)})",
        )

    def _placeholders(self) -> dict[str, str]:
        """What ``{name}`` may stand for in commands, env and seed data."""
        values = {
            "python": sys.executable,
            "run_dir": str(self.run_dir),
            **{
                f"{name}_url": self.service_urls.get(name, url)
                for name, url in self.simulators.items()
            },
            "app_url": self.app_url or "",
        }
        if self.postgres_url is not None:
            values["postgres_url"] = self.service_urls.get("postgres", self.postgres_url)
        if self.redis_url is not None:
            values["redis_url"] = self.service_urls.get("redis", self.redis_url)
        return values

    def _disabled(self) -> dict[str, str]:
        """Placeholders of servers the configuration turned off, with the reason."""
        reasons = {}
        if not self.config.postgres.enabled:
            reasons["postgres_url"] = "PostgreSQL is disabled ([tool.interlock.postgres] enabled)"
        if not self.config.redis.enabled:
            reasons["redis_url"] = "Redis is disabled ([tool.interlock.redis] enabled)"
        return reasons

    def _seed_data(self) -> dict[str, Any]:
        """The configured seed data, placeholders filled, each checked by its simulator now
        so that a wrong key is one line before anything starts."""
        values = self._placeholders()
        filled = {}
        for name, data in self.config.seed_data.items():
            where = f"[tool.interlock.seed_data.{name}]"
            filled[name] = fill_all(data, values, where, self._disabled())
            try:
                load_simulator(name)().set_baseline(filled[name])
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return filled

    def _service(
        self, spec: ServiceSpec, *, primary: bool, name: str = "", port: int = 0
    ) -> ManagedProcess:
        """``spec``'s process; ``name`` and ``port`` set for a replica of the app."""
        port = port or (self._app_port if primary and self._app_port else free_port())
        name = name or spec.name
        values = {**self._placeholders(), "port": str(port)}
        where = f"[tool.interlock.{'app' if primary else 'services.' + spec.name}]"
        disabled = self._disabled()
        command = [fill(part, values, where, disabled) for part in spec.command]
        env = {
            **self.service_env,
            **{k: fill(v, values, where, disabled) for k, v in spec.env.items()},
        }
        uses_port = primary or any("{port}" in part for part in (*spec.command, *spec.env.values()))
        probe: Callable[[], bool]
        if spec.health is not None:
            probe = HttpProbe("127.0.0.1", port, spec.health)
        elif uses_port:
            probe = lambda: port_open("127.0.0.1", port)  # noqa: E731
        else:
            probe = _always
        return ManagedProcess(
            name,
            command,
            log_path=self.log_dir / f"{name}.log",
            probe=probe,
            env=env,
            cwd=spec.cwd,
            ready_timeout=spec.ready_timeout,
            describe=f"{name} ({redact_text(' '.join(spec.command[:3]))} ...)",
            port=port if uses_port else None,
        )


def _always() -> bool:
    return True


def _source(var: str) -> str:
    section = "postgres" if "DATABASE" in var else "redis"
    return var if os.environ.get(var) else f"[tool.interlock.{section}] url"


def _reap_sentinel(sentinel: subprocess.Popen[bytes]) -> None:
    """The work dir is released: the sentinel finds it gone and ends; wait for that."""
    try:
        sentinel.wait(timeout=10)
    except subprocess.TimeoutExpired:  # never seen: it is ours, so it must not outlive us
        sentinel.kill()
        sentinel.wait()
