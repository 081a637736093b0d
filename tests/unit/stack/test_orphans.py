"""The sweep removes only what it proves dead by taking its lock, in any PID namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from interlock.config import Config, PostgresConfig, RedisConfig
from interlock.helpers.deadline import poll
from interlock.stack import Stack, orphans

ROOT = Path(__file__).resolve().parents[3]
#: a PID namespace of its own, whose processes all die when ``unshare`` is killed
UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def test_a_folder_without_a_stack_lock_is_never_swept(tmp_path: Path) -> None:
    foreign = tmp_path / "interlock-breaker-bench-1234"
    foreign.mkdir()
    (foreign / "data").write_text("someone else's")
    assert orphans.sweep((tmp_path,)) == []
    assert (foreign / "data").read_text() == "someone else's"


def test_a_live_stacks_work_dir_and_processes_are_kept(tmp_path: Path) -> None:
    claim = orphans.claim_workdir(tmp_path)
    sleeper = subprocess.Popen(["sleep", "600"], env=orphans.owner_env(claim.path))
    try:
        assert orphans.sweep((tmp_path,)) == []
        assert claim.path.is_dir()
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
        claim.release()
    assert not claim.path.exists()


def test_a_dead_stacks_work_dir_and_processes_are_removed(tmp_path: Path) -> None:
    claim = orphans.claim_workdir(tmp_path)
    sleeper = subprocess.Popen(
        ["sleep", "600"], env=orphans.owner_env(claim.path), start_new_session=True
    )
    os.close(claim.fd)  # the owner dies: the kernel drops its lock
    try:
        assert orphans.sweep((tmp_path,)) == [claim.path]
        assert not claim.path.exists()
        assert sleeper.wait(timeout=10) == -9
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


# -- two stacks, two PID namespaces, one /dev/shm --------------------------------------
HOLDER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from interlock.config import Config, PostgresConfig
    from interlock.stack import Stack, orphans

    tmp = Path(sys.argv[1])
    config = Config(root=tmp, tests=tmp, artifacts=tmp / "runs",
                    postgres=PostgresConfig(database="app"), faults=False)
    with Stack(config, run_dir=tmp / sys.argv[2]) as stack:
        print(json.dumps({"postgres": stack.postgres_url, "workdir": str(stack.workdir)}),
              flush=True)
        for line in sys.stdin:
            if line.strip() == "sweep":
                orphans.sweep((Path("/dev/shm"), tmp))
                print("swept", flush=True)
            else:
                break
    """
)


@pytest.fixture
def in_namespace(tmp_path: Path) -> Iterator[object]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    started: list[subprocess.Popen[str]] = []

    def start(name: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
        process = subprocess.Popen(
            [
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                sys.executable,
                str(script),
                str(tmp_path),
                name,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"the stack in namespace {name} did not come up"
        return process, json.loads(line)

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                assert process.stdin is not None
                process.stdin.write("exit\n")
                process.stdin.flush()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


def healthy(info: dict[str, str]) -> bool:
    with psycopg.connect(info["postgres"], connect_timeout=5) as conn:
        row = conn.execute("SELECT 1").fetchone()
    return row == (1,) and (Path(info["workdir"]) / "postgres" / "PG_VERSION").is_file()


def test_two_stacks_in_two_pid_namespaces_never_sweep_each_other(in_namespace) -> None:
    first, first_info = in_namespace("a")
    second, second_info = in_namespace("b")  # its start-up swept /dev/shm
    assert Path(first_info["workdir"]).parent == Path("/dev/shm")
    assert healthy(first_info)
    assert first.stdin is not None
    assert first.stdout is not None
    first.stdin.write("sweep\n")
    first.stdin.flush()
    assert first.stdout.readline().strip() == "swept"
    # and from the parent namespace, which sees every process of both
    assert not {first_info["workdir"], second_info["workdir"]} & {
        str(p) for p in orphans.sweep((Path("/dev/shm"),))
    }
    assert healthy(first_info)
    assert healthy(second_info)
    assert first.poll() is None
    assert second.poll() is None


def tagged_with(workdir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(orphans.WORKDIR_ENV) == str(workdir):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def dead(processes: list[psutil.Process]) -> bool:
    def gone(proc: psutil.Process) -> bool:
        try:
            return proc.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    return all(gone(proc) for proc in processes)


def test_a_stack_killed_in_its_namespace_is_swept_from_another(in_namespace) -> None:
    first, first_info = in_namespace("a")
    workdir = Path(first_info["workdir"])
    holder = psutil.Process(first.pid).children()
    family = tagged_with(workdir)
    assert holder
    assert family
    first.kill()  # --kill-child: the namespace's init, the stack's owner, dies by SIGKILL
    first.wait()
    poll(lambda: dead(holder), timeout=10, what="the stack's owner to die")
    _, second_info = in_namespace("b")  # its start-up sweeps
    assert not workdir.exists()
    poll(lambda: dead(family), timeout=10, what="the dead stack's processes to go")
    assert healthy(second_info)


# -- what a stack's processes started themselves, when the owner is SIGKILLed ------------
APP_WITH_A_HELPER = textwrap.dedent(
    """
    import subprocess, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from pathlib import Path

    # a helper of the app's own (as a worker pool is): no PDEATHSIG, same group
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    Path(sys.argv[2]).write_text(str(helper.pid))

    class Up(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

    HTTPServer(("127.0.0.1", int(sys.argv[1])), Up).serve_forever()
    """
)
OWNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from interlock.config import Config, PostgresConfig, RedisConfig, ServiceSpec
    from interlock.stack import Stack, stack as stack_module

    tmp = Path(sys.argv[1])
    # scratch of its own: no other run's sweep of /dev/shm or /tmp finds the dead stack
    stack_module.SHM = Path(sys.argv[2])
    app = ServiceSpec(name="app", command=(sys.executable, str(tmp / "app.py"), "{port}",
                      str(tmp / "helper.pid")), health="/")
    config = Config(root=tmp, tests=tmp, artifacts=tmp / "runs",
                    postgres=PostgresConfig(enabled=False), redis=RedisConfig(enabled=False),
                    faults=False, simulators=(), app=app)
    with Stack(config, run_dir=tmp / "run") as stack:
        print(json.dumps({"workdir": str(stack.workdir)}), flush=True)
        time.sleep(600)  # until SIGKILLed: the owner dies without any teardown
    """
)


def test_what_the_apps_own_processes_started_dies_with_a_killed_owner(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP_WITH_A_HELPER)
    (tmp_path / "owner.py").write_text(OWNER)
    # a folder of this test's own, where only the sentinel can find the dead stack (other
    # runs on this host sweep /dev/shm and /tmp themselves, not their subfolders)
    scratch = Path(tempfile.mkdtemp(prefix="orphans-test-", dir="/dev/shm"))
    scratch.chmod(0o711)
    owner = subprocess.Popen(
        [sys.executable, str(tmp_path / "owner.py"), str(tmp_path), str(scratch)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    helper: psutil.Process | None = None
    try:
        assert owner.stdout is not None
        workdir = Path(json.loads(owner.stdout.readline())["workdir"])
        helper = psutil.Process(int((tmp_path / "helper.pid").read_text()))
        owner.kill()
        owner.wait()
        # the app dies at once (PDEATHSIG); its helper only by the sentinel's sweep
        poll(lambda: ended(helper) or None, timeout=30, what="the app's helper to be killed")
        poll(lambda: not workdir.exists() or None, timeout=30, what="the work dir")
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
        if helper is not None and not ended(helper):  # the pid read above, not reused
            helper.kill()
        shutil.rmtree(scratch, ignore_errors=True)


def ended(process: psutil.Process) -> bool:
    """Gone, or dead and waiting for its new parent (init) to reap it."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_clean_teardown_leaves_no_sentinel(tmp_path: Path) -> None:
    config = Config(
        root=tmp_path,
        tests=tmp_path,
        artifacts=tmp_path / "runs",
        postgres=PostgresConfig(enabled=False),
        redis=RedisConfig(enabled=False),
        faults=False,
        simulators=(),
    )
    with Stack(config, run_dir=tmp_path / "run") as stack:
        workdir = str(stack.workdir)
        watching = [
            p for p in psutil.process_iter(["cmdline"]) if workdir in (p.info["cmdline"] or [])
        ]
        assert len(watching) == 1  # the sentinel, waiting on the work dir's lock
    assert not watching[0].is_running()
    assert not Path(workdir).exists()
