"""The shared asyncio plumbing: a loop in a thread, an aiohttp app served, tracked tasks."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest
from aiohttp import web

from interlock.aio import AppServer, LoopService, LoopThread, Tasks, on_loop
from interlock.lifecycle import ClientClosed, Lifecycle, StateError
from interlock.ports import port_open


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", _hello)
    return app


def test_an_app_is_served_on_the_port_it_reports_and_stops_listening() -> None:
    with LoopThread("test-app") as thread:
        server = AppServer(_app())
        thread.run(server.start())
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url, timeout=5).text == "hello"
        thread.run(server.stop())
        assert not port_open("127.0.0.1", server.port)


def test_on_loop_runs_the_call_on_the_loops_thread() -> None:
    with LoopThread("test-on-loop") as thread:
        ran_on = on_loop(thread.loop, threading.current_thread)
    assert ran_on.name == "test-on-loop"
    assert on_loop(None, threading.current_thread) is threading.current_thread()


def test_a_failing_task_is_logged_not_lost(caplog: pytest.LogCaptureFixture) -> None:
    async def fail() -> None:
        raise ValueError("webhook target exploded")

    async def scenario() -> None:
        tasks = Tasks("webhooks")
        task = tasks.spawn(fail())
        # the tracker's done callback was registered first, so it has run once gather returns
        await asyncio.gather(task, return_exceptions=True)
        assert len(tasks) == 0

    with caplog.at_level(logging.ERROR, logger="interlock.aio"):
        asyncio.run(scenario())
    assert [record.getMessage() for record in caplog.records] == [
        "webhooks: background task failed"
    ]
    assert "webhook target exploded" in caplog.text


def test_tasks_are_cancelled_from_another_thread() -> None:
    tasks = Tasks("callbacks")
    with LoopThread("test-tasks") as thread:

        async def forever() -> None:
            await asyncio.Event().wait()

        async def start() -> asyncio.Task[None]:
            return tasks.spawn(forever())

        task = thread.run(start())
        tasks.cancel_all()

        async def ended() -> bool:
            await asyncio.gather(task, return_exceptions=True)
            return task.cancelled()

        assert thread.run(ended())


class _Service(LoopService):
    """Notes where it started and stopped; fails its start when asked to."""

    def __init__(self, *, fail: bool = False) -> None:
        self._life = Lifecycle("the service")
        self._thread = "test-service"
        self.fail = fail
        self.events: list[tuple[str, str]] = []

    async def _start(self) -> None:
        self.events.append(("start", threading.current_thread().name))
        if self.fail:
            raise OSError("the port is taken")

    async def stop(self) -> None:
        if self._life.close():
            self.events.append(("stop", threading.current_thread().name))


def _service_threads() -> int:
    return sum(t.name == "test-service" for t in threading.enumerate())


def test_a_service_in_a_with_block_runs_on_a_thread_of_its_own_that_ends_with_it() -> None:
    service = _Service()
    with service as entered:
        assert entered is service
        assert _service_threads() == 1
        with pytest.raises(StateError, match="the service is already open"):
            service.__enter__()
    assert service.events == [("start", "test-service"), ("stop", "test-service")]
    assert _service_threads() == 0
    with pytest.raises(ClientClosed, match="the service was closed"):
        service.__enter__()


def test_a_service_whose_start_fails_is_stopped_and_leaves_no_thread() -> None:
    service = _Service(fail=True)
    with pytest.raises(OSError, match="the port is taken"):
        service.__enter__()
    assert service.events == [("start", "test-service"), ("stop", "test-service")]
    assert _service_threads() == 0


def test_a_service_in_an_async_with_block_runs_on_the_callers_loop() -> None:
    async def scenario() -> _Service:
        async with _Service() as service:
            pass
        return service

    caller = threading.current_thread().name
    assert asyncio.run(scenario()).events == [("start", caller), ("stop", caller)]
