"""A service process with its own process group, a log file, a readiness probe and a sure stop."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil
from mirakuru import SimpleExecutor

from interlock.errors import ServiceStartError
from interlock.stack import orphans

__all__ = ["ManagedProcess", "wait_until"]

_PR_SET_PDEATHSIG = 1
_libc: Any = None


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


class _Executor(SimpleExecutor):
    """mirakuru's executor, with our pre-exec hook in place of its bare ``setsid``."""

    @property
    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super()._popen_kwargs
        kwargs["preexec_fn"] = _die_with_parent
        return kwargs


def _descendants(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _stopped(pid: int) -> bool:
    """The process and all its descendants are stopped (or gone)."""
    for each in (pid, *_descendants(pid)):
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


class ManagedProcess:
    """One service of the stack: start (non-blocking), wait until ready, stop TERM → KILL.

    The process runs in its own session so the whole group can be signalled, carries the
    owner tag that lets a later run sweep it up if we are killed, and writes stdout and
    stderr to ``log_path``.
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
        self._executor: _Executor | None = None
        self._log: IO[str] | None = None

    @property
    def pid(self) -> int | None:
        process = self._executor.process if self._executor else None
        return process.pid if process is not None else None

    def running(self) -> bool:
        return self._executor is not None and bool(self._executor.running())

    def start(self) -> None:
        """Spawn the process and return at once; call ``wait_ready`` to block until it serves."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        env = {**self.env, **orphans.owner_tag()}
        popen_kwargs: dict[str, Any] = {}
        if self.user is not None:
            popen_kwargs["user"] = self.user
        self._executor = _Executor(
            self.command,
            cwd=str(self.cwd) if self.cwd else None,
            timeout=self.stop_timeout,
            sleep=0.01,
            stop_signal=self.stop_signal,
            envvars=env,
            stdin=None,
            stdout=self._log,
            stderr=self._log,
            popen_kwargs=popen_kwargs,
        )
        try:
            self._executor.start()
        except OSError as exc:
            self._close_log()
            raise ServiceStartError(
                f"{self.describe}: cannot run {self.command[0]!r}: {exc.strerror}",
                hint="check that it is installed and on PATH",
            ) from None

    def wait_ready(self) -> None:
        """Block until the probe passes; raise ServiceStartError with the log's tail otherwise."""
        if wait_until(self.probe, timeout=self.ready_timeout, alive=self.running):
            return
        code = self._executor.process.poll() if self._executor and self._executor.process else None
        why = (
            f"exited with code {code} during start-up"
            if code is not None
            else f"not ready after {self.ready_timeout:g} s"
        )
        tail = self.log_tail()
        self.stop()
        last = tail.strip().splitlines()[-1] if tail.strip() else "no output"
        raise ServiceStartError(
            f"{self.describe} {why}; last log line: {last}",
            hint=f"full log: {self.log_path}",
            log_tail=tail,
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Signal the whole group, wait ``stop_timeout``, then SIGKILL what is left."""
        executor, self._executor = self._executor, None
        if executor is not None and executor.process is not None:
            try:
                executor.stop()
            except Exception:
                executor.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the group at once (process faults, and teardown of a broken start)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            self.resume()  # a stopped group still dies on SIGKILL, but let it reap cleanly
            executor.kill()
        self._close_log()

    def restart(self) -> None:
        """Stop (or clean up after a kill), start again, and wait until ready."""
        self.stop()
        self.start()
        self.wait_ready()

    def pause(self) -> None:
        """SIGSTOP the whole group and wait until the kernel reports it stopped."""
        self._signal_group(signal.SIGSTOP)
        pid = self.pid
        if pid is not None and not wait_until(lambda: _stopped(pid), timeout=5):
            raise ServiceStartError(f"{self.describe} did not stop on SIGSTOP")

    def resume(self) -> None:
        """SIGCONT the whole group (harmless when it is not paused)."""
        self._signal_group(signal.SIGCONT)

    def _signal_group(self, signum: int) -> None:
        """Signal the process group and every descendant: some servers (PostgreSQL) put
        their children in sessions of their own, out of reach of the group."""
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)
        for child in _descendants(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signum)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

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
