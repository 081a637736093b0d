"""Faults tell their observer when they begin and end; the fault log pairs them back up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interlock.faults import Proxy
from interlock.faults.events import FaultEvent
from interlock.helpers.deadline import poll
from interlock.ports import free_port, port_open
from interlock.report.faultlog import read_fault_log
from interlock.report.html_faults import faults_section
from interlock.stack import ManagedProcess

SERVE = "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])));"
SERVE += " s.listen(); [s.accept()[0].close() for _ in iter(int, 1)]"


def _edges(events: list[FaultEvent]) -> list[tuple[str, str, str]]:
    return [(e.phase, e.target, e.fault) for e in events]


def test_a_process_fault_begins_when_dealt_and_ends_when_undone(tmp_path: Path) -> None:
    port = free_port()
    process = ManagedProcess(
        "svc",
        [sys.executable, "-c", SERVE, str(port)],
        log_path=tmp_path / "svc.log",
        probe=lambda: port_open("127.0.0.1", port),
        port=port,
    )
    events: list[FaultEvent] = []
    serving_when_ended: list[bool] = []

    def observe(event: FaultEvent) -> None:
        events.append(event)
        if event.phase == "end" and event.fault == "kill":
            serving_when_ended.append(port_open("127.0.0.1", port))

    with process:
        process.observer = observe
        process.pause()
        process.resume()
        process.resume()  # not paused: nothing to end
        process.pause()
        process.kill()  # ends the pause: a process that is gone is not paused
        process.kill()  # already dead: no second kill
        process.restart()
        process.observer = None  # the stop at the end is not a fault
    assert _edges(events) == [
        ("start", "svc", "pause"),
        ("end", "svc", "pause"),
        ("start", "svc", "pause"),
        ("start", "svc", "kill"),
        ("end", "svc", "pause"),
        ("end", "svc", "kill"),
    ]
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert serving_when_ended == [True]  # down until it serves again, not until spawned


def test_a_restart_of_a_running_process_is_a_fault_of_its_own(tmp_path: Path) -> None:
    port = free_port()
    process = ManagedProcess(
        "svc",
        [sys.executable, "-c", SERVE, str(port)],
        log_path=tmp_path / "svc.log",
        probe=lambda: port_open("127.0.0.1", port),
        port=port,
    )
    events: list[FaultEvent] = []
    with process:
        process.observer = events.append
        process.restart()
        process.observer = None
    assert _edges(events) == [("start", "svc", "restart"), ("end", "svc", "restart")]


def test_a_proxy_reports_its_toxics_and_downs_also_when_they_expire() -> None:
    events: list[FaultEvent] = []
    with Proxy(("127.0.0.1", free_port()), name="db") as proxy:
        proxy.observer = events.append
        with proxy.latency(ms=300):
            pass
        proxy.down()
        proxy.down()  # already down: one fault
        proxy.reset()
        proxy.add_toxic("latency", latency=5, duration=0.05, name="short")
        poll(lambda: len(events) == 6, timeout=10, what="the short toxic to expire")
    assert _edges(events) == [
        ("start", "db", "latency downstream latency=300 jitter=0"),
        ("end", "db", "latency downstream latency=300 jitter=0"),
        ("start", "db", "down"),
        ("end", "db", "down"),
        ("start", "db", "latency downstream latency=5 jitter=0"),
        ("end", "db", "latency downstream latency=5 jitter=0"),
    ]
    assert {e.source for e in events} == {"proxy"}
    # one start and its end share a key; a toxic installed again is another fault
    assert events[0].key == events[1].key != events[4].key == events[5].key


def test_the_log_pairs_each_start_with_its_end_per_process_and_keeps_open_ones(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "faults"
    folder.mkdir()

    def event(phase: str, target: str, key: str, time: float, test: str = "t::a") -> str:
        return json.dumps(
            {
                "type": "event",
                "phase": phase,
                "source": "proxy",
                "target": target,
                "fault": "down",
                "key": key,
                "time": time,
                "test": test,
            }
        )

    (folder / "gw0.jsonl").write_text(
        "\n".join(
            [
                json.dumps({"type": "begin", "time": 8.0}),
                event("start", "redis", "down", 10.0),
                event("end", "redis", "down", 12.0),
                event("start", "redis", "down", 14.0, test=""),
                '{"type": "event", "phase": "st',  # torn by a killed process
                json.dumps({"type": "end", "time": 20.0}),
            ]
        )
    )
    # the same key in another worker is another proxy: never paired across files
    (folder / "gw1.jsonl").write_text(event("end", "redis", "down", 11.0) + "\n")
    log = read_fault_log(tmp_path)
    assert [(i.start, i.end, i.test, i.process) for i in log.intervals] == [
        (10.0, 12.0, "t::a", "gw0"),
        (14.0, None, "", "gw0"),
    ]
    assert (log.run_start, log.run_end) == (8.0, 20.0)


def test_each_workers_proxy_has_its_own_row_timed_from_the_stack_being_up(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "faults"
    folder.mkdir()
    for worker, (start, end) in {"gw0": (10.0, 12.0), "gw1": (11.0, 15.0)}.items():
        lines = [{"type": "begin", "time": 5.0}]
        lines += [
            {"type": "event", "phase": phase, "source": "proxy", "target": "redis"}
            | {"fault": "down", "key": "down", "time": time, "test": "t::a"}
            for phase, time in (("start", start), ("end", end))
        ]
        (folder / f"{worker}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    html = faults_section(tmp_path)
    assert html.count('<tr data-target="gw0: proxy redis">') == 1
    assert html.count('<tr data-target="gw1: proxy redis">') == 1
    # the stack was up at 5 s: gw0's down is 5 s into the run, gw1's ends 10 s into it
    assert '<td class="num">5.00 s</td><td class="num">7.00 s</td>' in html
    assert '<td class="num">6.00 s</td><td class="num">10.00 s</td>' in html
