"""An attached run's reset: every part of the env reset side by side, a failure named."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from interlock.errors import DependencyError
from interlock.stack.attach import AttachedFaults, AttachedStack, reset_state


@contextmanager
def control_api(answer: Callable[[], int]) -> Iterator[str]:
    """A local HTTP server whose every POST gets the status ``answer()`` returns."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(answer())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def stack_of(answers: list[Callable[[], int]], stack: ExitStack) -> AttachedStack:
    """An env view with a simulator for every answer but the last, which is the faults'."""
    urls = [stack.enter_context(control_api(answer)) for answer in answers]
    return AttachedStack(
        env_pid=1,
        postgres_url=None,
        redis_url=None,
        app_url=None,
        simulators={f"sim{n}": url for n, url in enumerate(urls[:-1])},
        faults=AttachedFaults(urls[-1]),
    )


def test_the_parts_of_the_env_are_reset_side_by_side():
    # every control API answers only once all of them were asked: one after the other,
    # the first would wait for the others until the barrier's deadline and answer 500
    parts = 4
    everyone_asked = threading.Barrier(parts, timeout=10)

    def answer() -> int:
        try:
            everyone_asked.wait()
        except threading.BrokenBarrierError:
            return 500
        return 204

    lines: list[str] = []
    with ExitStack() as servers:
        reset_state(stack_of([answer] * parts, servers), lines.append)
    assert len(lines) == 1
    assert "3 simulators reset, faults reset" in lines[0]


def test_a_part_that_cannot_be_reset_is_named_and_the_others_are_reset_still():
    asked: list[str] = []

    def fine(name: str) -> Callable[[], int]:
        return lambda: asked.append(name) or 204

    with ExitStack() as servers:
        env = stack_of([fine("sim0"), lambda: 500, fine("faults")], servers)
        with pytest.raises(DependencyError, match="simulator sim1"):
            reset_state(env, lambda line: None)
    assert sorted(asked) == ["faults", "sim0"]
