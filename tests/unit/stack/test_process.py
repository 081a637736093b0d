"""Process faults leave a service as a user expects, in any order and from any thread."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from interlock.errors import ServiceStartError
from interlock.helpers.deadline import poll
from interlock.ports import free_port, port_open
from interlock.stack import ManagedProcess, ProcessStateError
from interlock.stack.wiring import HttpProbe

#: writes "term" when SIGTERM arrives (so a test can tell a clean stop from a SIGKILL),
#: then serves its port until killed
SERVICE = r"""
import signal, socket, sys, time
def on_term(*_):
    print("term", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("serving", flush=True)
while True:
    server.accept()[0].close()
"""


def make(tmp_path: Path, *, stop_timeout: float = 30.0) -> ManagedProcess:
    port = free_port()
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    return ManagedProcess(
        "svc",
        [sys.executable, str(script), str(port)],
        log_path=tmp_path / "svc.log",
        probe=lambda: port_open("127.0.0.1", port),
        stop_timeout=stop_timeout,
        port=port,
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ManagedProcess]:
    process = make(tmp_path)
    process.start()
    process.wait_ready()
    try:
        yield process
    finally:
        process.kill()


def status(pid: int) -> str:
    try:
        return str(psutil.Process(pid).status())
    except psutil.NoSuchProcess:
        return "gone"


def gone(pid: int) -> bool:
    return status(pid) in ("gone", psutil.STATUS_ZOMBIE)


def test_kill_twice_is_one_kill(service: ManagedProcess) -> None:
    pid = service.pid
    assert pid is not None
    service.kill()
    service.kill()
    assert not service.running()
    assert gone(pid)


def test_stop_after_kill_does_nothing_and_restart_brings_it_back(service: ManagedProcess) -> None:
    old = service.pid
    service.kill()
    service.stop()
    assert not service.running()
    service.restart()
    assert service.running()
    assert service.pid != old


def test_resume_of_a_killed_process_leaves_it_down_until_restart(service: ManagedProcess) -> None:
    service.kill()
    service.resume()
    assert not service.running()
    assert service.pid is None


def test_pause_of_a_killed_process_says_it_is_not_running(service: ManagedProcess) -> None:
    service.kill()
    with pytest.raises(ProcessStateError, match=r"cannot pause .* it is not running"):
        service.pause()


def test_pause_twice_then_resume_runs_again(service: ManagedProcess) -> None:
    pid = service.pid
    assert pid is not None
    service.pause()
    service.pause()
    assert service.paused
    assert status(pid) == psutil.STATUS_STOPPED
    service.resume()
    assert not service.paused
    poll(lambda: status(pid) != psutil.STATUS_STOPPED, timeout=5, what="the process to run")
    assert service.probe()


def test_stop_of_a_paused_process_lets_it_act_on_sigterm(service: ManagedProcess) -> None:
    # stop_timeout is 30 s: a SIGTERM left pending would end in a SIGKILL, without "term"
    service.pause()
    service.stop()
    assert not service.running()
    assert "term" in service.log_tail()


def test_restart_of_a_paused_process_serves_again(service: ManagedProcess) -> None:
    old = service.pid
    service.pause()
    service.restart()
    assert service.pid != old
    assert not service.paused
    assert service.probe()
    assert "term" in service.log_tail()


def test_start_of_a_running_process_raises_naming_it(service: ManagedProcess) -> None:
    with pytest.raises(ProcessStateError, match="svc is already running"):
        service.start()


def test_kill_of_a_paused_process_leaves_nothing_stopped_behind(service: ManagedProcess) -> None:
    pid = service.pid
    assert pid is not None
    service.pause()
    service.kill()
    assert gone(pid)
    assert not service.paused


def test_faults_from_many_threads_end_in_one_consistent_state(service: ManagedProcess) -> None:
    pid = service.pid
    assert pid is not None
    errors: list[BaseException] = []

    def call(action: str) -> None:
        try:
            getattr(service, action)()
        except ProcessStateError:
            pass  # pause() of a process another thread already killed: a clear refusal
        except BaseException as exc:  # pragma: no cover - what the test looks for
            errors.append(exc)

    threads = [
        threading.Thread(target=call, args=(action,))
        for action in ("pause", "kill", "resume", "stop", "kill", "pause")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not service.running()
    assert gone(pid)
    assert not service.paused


def test_a_forked_child_cannot_stop_its_parents_service(service: ManagedProcess) -> None:
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            service.stop()
        except ProcessStateError:
            os._exit(7)
        os._exit(0)
    _, code = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(code) == 7
    assert service.running()
    assert service.probe()


def test_every_log_line_has_a_timestamp(service: ManagedProcess) -> None:
    service.stop()
    lines = service.log_path.read_text().splitlines()
    assert lines
    stamped = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
    assert all(stamped.match(line) for line in lines), lines


def test_a_taken_port_is_reported_before_start(tmp_path: Path, service: ManagedProcess) -> None:
    second = make(tmp_path)
    second.port = service.port
    with pytest.raises(ServiceStartError, match="address already in use"):
        second.start()
    assert not second.running()


def test_a_process_that_exits_early_fails_at_once_with_command_and_log(tmp_path: Path) -> None:
    process = ManagedProcess(
        "app",
        [sys.executable, "-c", "print('first'); print('boom: no config'); raise SystemExit(3)"],
        log_path=tmp_path / "app.log",
        probe=lambda: False,
        ready_timeout=600,  # an exit must not wait for this
    )
    process.start()
    with pytest.raises(ServiceStartError) as info:
        process.wait_ready()
    message = str(info.value)
    assert "exited with code 3" in message
    assert "boom: no config" in message
    assert "first" in message
    assert "-c" in message
    assert sys.executable in message


def test_a_process_started_from_a_short_lived_thread_outlives_that_thread(tmp_path: Path) -> None:
    # the kernel's parent-death signal follows the thread that forked, not the process
    port = free_port()
    process = ManagedProcess(
        "web",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        log_path=tmp_path / "web.log",
        probe=HttpProbe("127.0.0.1", port, "/"),
        cwd=tmp_path,
        port=port,
    )
    starter: list[int] = []

    def start() -> None:
        starter.append(threading.get_native_id())
        process.start()
        process.wait_ready()

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(timeout=60)
    try:
        task = Path(f"/proc/self/task/{starter[0]}")
        poll(lambda: not task.exists(), timeout=10, what="the starting thread to be gone")
        # an answer needs the process to run after its starter's death was signalled
        assert process.probe(), process.log_tail()
        assert process.running()
    finally:
        process.kill()
