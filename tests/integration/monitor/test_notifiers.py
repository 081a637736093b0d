"""Notifiers deliver each notice, and one that cannot deliver says so without stopping anything."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import aiohttp
import pytest
from tests.integration.monitor.support import Target

from interlock.monitor.alerts import Alert, AlertEvent
from interlock.monitor.notifiers import JsonlNotifier, WebhookNotifier

EVENT = AlertEvent("firing", Alert("down:db", "down", "db", "db is down", 100.0), 101.0)


def _send(url: str) -> None:
    async def once() -> None:
        async with aiohttp.ClientSession() as session:
            await WebhookNotifier(url, session, timeout=2).send(EVENT)

    asyncio.run(once())


def test_webhook_posts_the_notice_as_json(target: Target) -> None:
    _send(f"{target.url}/hook")
    assert target.hooks == [
        {
            "event": "firing",
            "at": 101.0,
            "alert": {
                "key": "down:db",
                "rule": "down",
                "subject": "db",
                "message": "db is down",
                "since": 100.0,
                "state": "pending",
                "fired_at": None,
                "ended_at": None,
                "reason": "",
            },
        }
    ]


def test_webhook_refusing_or_unreachable_is_reported_not_raised(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    _send(f"{target.url}/health/x")  # GET only: a POST is answered 405
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _send(f"http://127.0.0.1:{port}/hook")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"monitor: webhook {target.url}/health/x answered HTTP 405"
    assert lines[1].startswith(f"monitor: webhook http://127.0.0.1:{port}/hook not reached: ")


def test_jsonl_appends_one_line_per_notice(tmp_path: Path) -> None:
    notifier = JsonlNotifier(tmp_path / "alerts" / "log.jsonl")
    asyncio.run(notifier.send(EVENT))
    asyncio.run(notifier.send(EVENT))
    lines = (tmp_path / "alerts" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["alert"]["key"] for line in lines] == ["down:db", "down:db"]
