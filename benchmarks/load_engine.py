"""Requests per second of load generators on one core against nginx on another, as wrk's share.

Run: ``python benchmarks/load_engine.py [--duration 5] [--runs 3] [--connections 50]``.
Needs nginx and wrk (``apt-get install nginx wrk``) and the ``bench`` extra (k6, locust).

nginx (one worker, answering ``200 ok`` from memory) is pinned to the first core, each
generator in turn to the second; every generator keeps the same number of keep-alive
connections busy for the same time. Rounds interleave the generators so that noise from
other work on the machine spreads over all of them; the table shows each one's median.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_CORE, CLIENT_CORE = "0", "1"

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
    uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok"; }}
    }}
}}
"""

K6_SCRIPT = """
import http from 'k6/http';
export default function () {{ http.get('{url}'); }}
export function handleSummary(data) {{ return {{ '{summary}': JSON.stringify(data) }}; }}
"""

LOCUST_FILE = """
from locust import FastHttpUser, constant, task

class Hit(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""

AIOHTTP_SCRIPT = """
import asyncio, sys, time
import aiohttp, uvloop

async def main(url, connections, duration):
    count = 0
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections)
    ) as session:
        end = time.perf_counter() + duration
        async def worker():
            nonlocal count
            while time.perf_counter() < end:
                async with session.get(url) as response:
                    await response.read()
                count += 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        print(count / (time.perf_counter() - start))

uvloop.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
"""

INTERLOCK_SCENARIO = """
async def workflow(session):
    await session.get("/")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # nginx watches nothing of ours: if this benchmark is killed before its cleanup, the
    # kernel sends nginx SIGTERM (PR_SET_PDEATHSIG survives the exec of taskset and nginx)
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@contextmanager
def nginx(work: Path) -> Iterator[str]:
    """nginx on the server core, answering on a free port; stopped on the way out."""
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, port=port))
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, "nginx", "-c", str(conf), "-p", str(work)],
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"nginx did not start: see {work / 'error.log'}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pinned(*argv: str) -> list[str]:
    return ["taskset", "-c", CLIENT_CORE, *argv]


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[3]} failed: {done.stderr[-500:] or done.stdout[-500:]}")
    return done.stdout


def wrk(url: str, conns: int, seconds: float, work: Path) -> float:
    out = run(pinned("wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s", url), work)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match[1])


def k6(url: str, conns: int, seconds: float, work: Path) -> float:
    script = work / "k6.js"
    summary = work / "k6-summary.json"
    script.write_text(K6_SCRIPT.format(url=url, summary=summary))
    run(
        pinned(
            shutil.which("k6") or "k6",
            "run",
            "--quiet",
            "--no-usage-report",
            f"--vus={conns}",
            f"--duration={seconds:g}s",
            str(script),
        ),
        work,
    )
    return float(json.loads(summary.read_text())["metrics"]["http_reqs"]["values"]["rate"])


def locust(url: str, conns: int, seconds: float, work: Path) -> float:
    file = work / "locustfile.py"
    file.write_text(LOCUST_FILE)
    prefix = work / "locust"
    run(
        pinned(
            shutil.which("locust") or "locust",
            "-f",
            str(file),
            "--headless",
            "--only-summary",
            f"--users={conns}",
            f"--spawn-rate={conns}",
            f"--run-time={seconds:g}s",
            f"--host={url.rstrip('/')}",
            f"--csv={prefix}",
            "--loglevel=ERROR",
        ),
        work,
    )
    for line in Path(f"{prefix}_stats.csv").read_text().splitlines():
        cells = line.split(",")
        if '"Aggregated"' in cells or "Aggregated" in cells:
            header = Path(f"{prefix}_stats.csv").read_text().splitlines()[0].split(",")
            return float(cells[header.index("Requests/s")])
    raise RuntimeError("locust wrote no aggregated row")


def aiohttp_uvloop(url: str, conns: int, seconds: float, work: Path) -> float:
    out = run(pinned(sys.executable, "-c", AIOHTTP_SCRIPT, url, str(conns), str(seconds)), work)
    return float(out.strip().splitlines()[-1])


def interlock(url: str, conns: int, seconds: float, work: Path) -> float:
    scenario = work / "scenario.py"
    scenario.write_text(textwrap.dedent(INTERLOCK_SCENARIO))
    out = work / "interlock"
    run(
        pinned(
            sys.executable,
            "-m",
            "interlock.load",
            str(scenario),
            f"--target={url}",
            "--executor=constant-vus",
            f"--vus={conns}",
            f"--duration={seconds:g}s",
            f"--out={out}",
            "--quiet",
        ),
        work,
    )
    result = json.loads((out / "load.json").read_text())
    requests = sum(step["count"] for step in result["steps"].values())
    return float(requests / result["elapsed_s"])


GENERATORS: dict[str, Callable[[str, int, float, Path], float]] = {
    "wrk": wrk,
    "k6": k6,
    "locust FastHttpUser": locust,
    "aiohttp + uvloop": aiohttp_uvloop,
    "interlock": interlock,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per generator (3)")
    parser.add_argument("--connections", type=int, default=50, help="keep-alive connections")
    parser.add_argument("--only", nargs="*", choices=list(GENERATORS), help="a subset")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: one for nginx, one for the generator")
    for tool in ("nginx", "wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install nginx wrk util-linux)")
    chosen = {name: GENERATORS[name] for name in (args.only or GENERATORS)}
    chosen.setdefault("wrk", wrk)
    figures: dict[str, list[float]] = {name: [] for name in chosen}
    with tempfile.TemporaryDirectory(prefix="load-engine-bench-") as tmp, nginx(Path(tmp)) as url:
        for round_ in range(args.runs):
            for name, generator in chosen.items():
                rate = generator(url, args.connections, args.duration, Path(tmp))
                figures[name].append(rate)
                print(f"  round {round_ + 1}: {name:<20} {rate:>10.0f} req/s", file=sys.stderr)
    base = statistics.median(figures["wrk"])
    print(f"\n{'generator':<22}{'median req/s':>14}{'share of wrk':>14}   runs")
    for name, rates in figures.items():
        med = statistics.median(rates)
        runs = " ".join(f"{r:.0f}" for r in rates)
        print(f"{name:<22}{med:>14.0f}{100 * med / base:>13.1f}%   {runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
