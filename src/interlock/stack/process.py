"""A service process: its own process group, a timestamped log, a readiness probe, a sure stop.

Process faults (stop, kill, pause, resume, restart) may come from any thread, in any
order; each call takes the process's lock and leaves it in one of the states a user
expects: running, paused, or not running. An ``observer`` hears when each one begins
and ends (a kill or stop ends when the process is ready again, a pause when it resumes).
Only the process that started a service may signal it: in a forked child every such
call raises.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import datetime
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

from interlock.errors import InterlockError, ServiceStartError
from interlock.faults.events import FaultEvent, FaultObserver, Phase, notify
from interlock.ports import port_open
from interlock.stack.redaction import redact_text

__all__ = ["ManagedProcess", "ProcessStateError", "wait_until"]

_PR_SET_PDEATHSIG = 1
_libc: Any = None
#: how many log lines an error message quotes
TAIL_LINES = 8


class ProcessStateError(InterlockError):
    """A process fault asked for something the process's state does not allow."""


def _die_with_parent() -> None:
    """Runs in the child before exec: a new session, and SIGKILL when our process dies.

    Teardown handles every exit Python sees; this covers the one it cannot (SIGKILL),
    so even then nothing outlives the run. The orphan sweep is the last line.
    """
    os.setsid()
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _load_libc() -> None:
    global _libc
    try:
        _libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc: the sweep still cleans up
        _libc = None


_load_libc()


_spawner: concurrent.futures.ThreadPoolExecutor | None = None
_spawner_pid = 0
_spawner_lock = threading.Lock()


def _spawn(popen: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """``popen()`` (which starts a child) on a thread that lives as long as the interpreter.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process
    (prctl(2)): a service started or restarted from a short-lived thread (a test's helper
    thread, a pool's worker) would be SIGKILLed the moment that thread finished.
    """
    global _spawner, _spawner_pid
    with _spawner_lock:
        if _spawner is None or _spawner_pid != os.getpid():  # a fork has no such thread
            _spawner = concurrent.futures.ThreadPoolExecutor(1, "interlock-spawn")
            _spawner_pid = os.getpid()
        spawner = _spawner
    return spawner.submit(popen).result()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def _stopped(pid: int) -> bool:
    """The process and all its descendants are stopped (or gone)."""
    for each in (pid, *(p.pid for p in _descendants(pid))):
        try:
            if psutil.Process(each).status() not in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE):
                return False
        except psutil.Error:
            continue
    return True


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.005,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; stop early when ``alive`` fails."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if alive is not None and not alive():
            return False
        if time.monotonic() >= deadline:
            return False
        # back off gently so a slow service does not cost a core of polling
        time.sleep(interval)
        interval = min(interval * 1.5, 0.05)


def _copy_with_timestamps(source: IO[bytes], log: IO[bytes]) -> None:
    """Prefix every line the process writes with the UTC time it arrived (ISO 8601, ms)."""
    with source, log:
        for line in source:
            now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
            log.write(now.replace("+00:00", "Z").encode() + b" " + line)
            log.flush()


class ManagedProcess:
    """One service of the stack: start (non-blocking), wait until ready, stop TERM → KILL.

    The process runs in its own session so the whole group can be signalled, carries
    ``env`` (with the stack's owner tag) and writes stdout and stderr, each line
    timestamped, to ``log_path``. ``port``, when given, must be free before start.
    Errors: ServiceStartError (cannot run, port taken, exited or not ready),
    ProcessStateError (a fault the current state does not allow, or a call from a fork).
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        log_path: Path,
        probe: Callable[[], bool],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        stop_signal: int = signal.SIGTERM,
        user: str | None = None,
        describe: str = "",
        port: int | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.probe = probe
        self.env = dict(env or {})
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.stop_signal = stop_signal
        self.user = user
        self.describe = describe or name
        self.port = port
        self._popen: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._paused = False
        self._lock = threading.RLock()
        self._owner = os.getpid()
        #: told when a process fault begins and ends (see interlock.faults.events)
        self.observer: FaultObserver | None = None
        #: the faults in effect now: "down" (stopped or killed) and "paused", with their name
        self._faults: dict[str, str] = {}

    @property
    def pid(self) -> int | None:
        popen = self._popen
        return popen.pid if popen is not None else None

    @property
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()`` (or a stop, kill or restart)."""
        return self._paused and self.running()

    def running(self) -> bool:
        popen = self._popen
        return popen is not None and popen.poll() is None

    def start(self) -> None:
        """Spawn the process and return at once; call ``wait_ready`` to block until it serves."""
        self._check_owner("start")
        with self._lock:
            if self.running():
                raise ProcessStateError(
                    f"{self.describe} is already running (pid {self.pid}); "
                    "stop() or restart() it first"
                )
            self._reap()
            if self.port is not None and port_open("127.0.0.1", self.port):
                raise ServiceStartError(
                    f"{self.describe}: port {self.port} on 127.0.0.1 is taken by another "
                    "process (address already in use)",
                    hint="stop whatever listens there, or let Interlock choose the port",
                )
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
            try:
                self._popen = _spawn(
                    lambda: subprocess.Popen(
                        self.command,
                        cwd=self.cwd,
                        env={**os.environ, **self.env},
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        preexec_fn=_die_with_parent,
                        user=self.user,
                        close_fds=True,
                    )
                )
            except OSError as exc:
                log.close()
                raise ServiceStartError(
                    f"{self.describe}: cannot run {self.command[0]!r}: {exc.strerror}",
                    hint="check that it is installed and on PATH",
                ) from None
            assert self._popen.stdout is not None
            self._reader = threading.Thread(
                target=_copy_with_timestamps,
                args=(self._popen.stdout, log),
                name=f"interlock-log-{self.name}",
                daemon=True,
            )
            self._reader.start()
            self._paused = False

    def wait_ready(self) -> None:
        """Block until the probe passes; raise ServiceStartError with the log's tail otherwise.

        A process that exits during start-up fails at once, naming its exit code, its
        command and its last log lines; one that never gets ready fails after
        ``ready_timeout`` seconds, naming what the probe last saw.
        """
        if wait_until(self.probe, timeout=self.ready_timeout, alive=self.running):
            self._fault_ends("down")  # down until it serves again, not until it is spawned
            return
        popen = self._popen
        code = popen.poll() if popen is not None else None
        if code is not None:
            why = f"exited with code {code} during start-up"
        else:
            why = f"not ready after {self.ready_timeout:g} s"
            last_seen = getattr(self.probe, "last", "")
            if last_seen:
                why += f" ({last_seen})"
        self.stop()  # also waits for the log to be complete
        tail = self.log_tail(TAIL_LINES)
        if "address already in use" in tail.lower():
            why += " because its address is already in use"
        quoted = "\n".join(f"  | {line}" for line in tail.splitlines()) or "  | (no output)"
        raise ServiceStartError(
            f"{self.describe} {why}\n  command: {redact_text(shlex.join(self.command))}\n"
            f"  last log lines:\n{redact_text(quoted)}",
            hint=f"full log: {self.log_path}",
            log_tail=tail,
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, fault: str = "stop") -> None:
        """Signal the group (``stop_signal``), wait ``stop_timeout``, then SIGKILL what is left.

        A paused process is woken so that it can act on the signal; stopping a process
        that is not running does nothing. ``fault`` names the stop for the observer.
        """
        self._check_owner("stop")
        with self._lock:
            popen = self._popen
            if popen is None:
                return
            family = _descendants(popen.pid)
            if popen.poll() is None:
                self._fault_begins("down", fault)
                self._signal(popen.pid, family, self.stop_signal)
                if self._paused:  # the signal stays pending until the group runs again
                    self._signal(popen.pid, family, signal.SIGCONT)
                try:
                    popen.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._signal(popen.pid, family, signal.SIGKILL)
            self._finish(family)

    def kill(self) -> None:
        """SIGKILL the group and every descendant at once; killing a dead process does nothing."""
        self._check_owner("kill")
        with self._lock:
            popen = self._popen
            if popen is None:
                return
            family = _descendants(popen.pid)
            if popen.poll() is None:
                self._fault_begins("down", "kill")
            self._signal(popen.pid, family, signal.SIGKILL)
            self._finish(family)

    def restart(self) -> None:
        """Stop (a paused, killed or crashed process too), start again, wait until ready."""
        self._check_owner("restart")
        with self._lock:
            self.stop(fault="restart")
            self.start()
            self.wait_ready()

    def pause(self) -> None:
        """SIGSTOP the group and wait until the kernel reports it stopped.

        Raises ProcessStateError when the process is not running; pausing twice is one pause.
        """
        self._check_owner("pause")
        with self._lock:
            popen = self._popen
            if popen is None or popen.poll() is not None:
                raise ProcessStateError(
                    f"cannot pause {self.describe}: it is not running (restart() starts it again)"
                )
            pid = popen.pid
            self._signal(pid, _descendants(pid), signal.SIGSTOP)
            self._paused = True
            self._fault_begins("paused", "pause")
            if not wait_until(lambda: _stopped(pid), timeout=5):
                raise ProcessStateError(f"{self.describe} did not stop on SIGSTOP")

    def resume(self) -> None:
        """SIGCONT the group; a process that is not paused (or not running) is left as it is."""
        self._check_owner("resume")
        with self._lock:
            popen = self._popen
            if popen is not None and popen.poll() is None:
                self._signal(popen.pid, _descendants(popen.pid), signal.SIGCONT)
            self._paused = False
            self._fault_ends("paused")

    def _signal(self, pid: int, family: list[psutil.Process], signum: int) -> None:
        """Signal the process group and every descendant: some servers (PostgreSQL) put
        their children in sessions of their own, out of reach of the group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)
        for child in family:
            with contextlib.suppress(psutil.Error):
                child.send_signal(signum)  # checks the pid was not reused

    def _finish(self, family: list[psutil.Process]) -> None:
        """Reap the process, make sure no descendant outlives it, and complete the log."""
        popen = self._popen
        if popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if popen.poll() is None:
                    os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
        for child in family:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self._reap()

    def _reap(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            # the pipe closes when the last writer is gone; a descendant we could not see
            # must not hold teardown hostage
            reader.join(timeout=2)
        popen, self._popen = self._popen, None
        if popen is not None and popen.poll() is None:
            popen.kill()
            popen.wait()
        self._paused = False
        self._fault_ends("paused")  # a process that is gone is no longer paused

    def _fault_begins(self, key: str, fault: str) -> None:
        if key not in self._faults:
            self._faults[key] = fault
            self._tell("start", key, fault)

    def _fault_ends(self, key: str) -> None:
        fault = self._faults.pop(key, None)
        if fault is not None:
            self._tell("end", key, fault)

    def _tell(self, phase: Phase, key: str, fault: str) -> None:
        event = FaultEvent(phase=phase, source="process", target=self.name, fault=fault, key=key)
        notify(self.observer, event)

    def _check_owner(self, action: str) -> None:
        if os.getpid() != self._owner:
            raise ProcessStateError(
                f"cannot {action} {self.describe} from process {os.getpid()}: only the "
                f"process that started it ({self._owner}) may, and a forked child never does"
            )

    def __enter__(self) -> ManagedProcess:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def exit_code(self) -> int | None:
        """The code it exited with on its own (negative: killed by that signal); None while
        it runs, before it starts, and after ``stop`` or ``kill``."""
        popen = self._popen
        return popen.poll() if popen is not None else None
