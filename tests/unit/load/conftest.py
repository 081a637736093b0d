"""Fixtures of the load engine's tests: a real HTTP target in a process of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("target_server.py")


@dataclass(frozen=True)
class Target:
    url: str
    process: subprocess.Popen[str]

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def target() -> Iterator[Target]:
    """A keep-alive HTTP server on a free port (``/status/N`` answers N); killed at the end."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER)],
        stdin=subprocess.PIPE,  # its end closes if this process dies: the server exits
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield Target(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.send_signal(signal.SIGCONT)  # a paused server must still die
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
