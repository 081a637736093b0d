"""Each kind of probe against a real server: green when it answers, red (never a crash) when not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.integration.monitor.support import Target

from interlock.monitor.config import ProbeSpec, parse_probe
from interlock.monitor.probes import Sample, check
from interlock.stack.redis import EmbeddedRedis


def _spec(**table: Any) -> ProbeSpec:
    return parse_probe("p", table, interval=1, timeout=2)


def _check(spec: ProbeSpec) -> Sample:
    async def once() -> Sample:
        async with aiohttp.ClientSession() as session:
            return await check(spec, session)

    return asyncio.run(once())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_probe_checks_conditions_and_reads_metrics(target: Target) -> None:
    sample = _check(
        _spec(
            type="http",
            url=f"{target.url}/health/x",
            conditions=["[STATUS] == 200", '$.status == "ok"', "$.backlog < 10"],
            metrics={"backlog": "$.backlog"},
        )
    )
    assert (sample.ok, sample.error, dict(sample.metrics)) == (True, None, {"backlog": 3.0})


def test_http_probe_is_red_with_the_failed_condition(target: Target) -> None:
    sample = _check(_spec(type="http", url=f"{target.url}/health/x", conditions=["$.backlog < 2"]))
    assert not sample.ok
    assert sample.error == "$.backlog < 2: got 3"


def test_http_probe_on_a_body_that_is_not_json_is_red(target: Target) -> None:
    sample = _check(
        _spec(type="http", url=f"{target.url}/hook", method="GET", conditions=["$.a == 1"])
    )
    assert not sample.ok  # 405 text body: a failed check, not an exception


def test_unreachable_targets_are_red_samples() -> None:
    port = _closed_port()
    for table in (
        {"type": "http", "url": f"http://127.0.0.1:{port}/"},
        {"type": "tcp", "address": f"127.0.0.1:{port}"},
        {"type": "redis", "url": f"redis://127.0.0.1:{port}/0"},
        {"type": "postgres", "url": f"postgresql://u@127.0.0.1:{port}/db"},
        {"type": "websocket", "url": f"ws://127.0.0.1:{port}/ws"},
        {"type": "simulator", "url": f"http://127.0.0.1:{port}"},
    ):
        sample = _check(_spec(**table))
        assert not sample.ok, table
        assert sample.error, table


def test_a_target_that_hangs_is_red_after_the_timeout() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # accepts, never answers
        port = server.getsockname()[1]
        sample = _check(_spec(type="http", url=f"http://127.0.0.1:{port}/", timeout=0.3))
    assert (sample.ok, sample.error) == (False, "timed out after 0.3 s")


def test_tcp_and_websocket_probes_are_green_on_a_live_server(target: Target) -> None:
    host_port = target.url.removeprefix("http://")
    assert _check(_spec(type="tcp", address=host_port)).ok
    assert _check(_spec(type="websocket", url=f"ws://{host_port}/ws")).ok


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("redis")
    server = EmbeddedRedis(workdir=folder, log_path=folder / "redis.log")
    with server.prepare():
        yield server.url


def test_redis_probe_pings_a_real_server(redis_url: str) -> None:
    assert _check(_spec(type="redis", url=redis_url)).ok


async def flow(session: aiohttp.ClientSession) -> None:
    """A synthetic workflow that fails: its error is the probe's."""
    raise RuntimeError("step 2 of 3 refused")


def test_synthetic_probe_runs_the_workflow_and_reports_its_error(tmp_path: Path) -> None:
    sample = _check(_spec(type="synthetic", function=f"{__name__}:flow"))
    assert (sample.ok, sample.error) == (False, "RuntimeError: step 2 of 3 refused")


def test_a_server_speaking_garbage_or_another_protocol_is_red_for_every_kind(
    target: Target,
) -> None:
    import threading

    with socket.socket() as garbage:
        garbage.bind(("127.0.0.1", 0))
        garbage.listen()
        port = garbage.getsockname()[1]

        def answer_garbage() -> None:
            while True:
                try:
                    conn, _ = garbage.accept()
                except OSError:  # the test closed the socket
                    return
                with conn:
                    conn.sendall(b"\x00\xffNOT A PROTOCOL\r\n\r\n" * 64)

        threading.Thread(target=answer_garbage, daemon=True).start()
        http_server = target.url.removeprefix("http://")
        for table in (
            {"type": "http", "url": f"http://127.0.0.1:{port}/", "conditions": ["$.a == 1"]},
            {"type": "websocket", "url": f"ws://127.0.0.1:{port}/"},
            {"type": "redis", "url": f"redis://127.0.0.1:{port}/0"},
            {"type": "postgres", "url": f"postgresql://u@127.0.0.1:{port}/db"},
            {"type": "redis", "url": f"redis://{http_server}/0"},
            {"type": "postgres", "url": f"postgresql://u@{http_server}/db"},
            {"type": "websocket", "url": f"ws://{http_server}/health/x"},
        ):
            sample = _check(_spec(**table))
            assert not sample.ok, table
            assert sample.error, table
