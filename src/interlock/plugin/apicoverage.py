"""``--api-coverage``: which of the app's OpenAPI operations (and declared responses) the
suites exercised, listed by operation in ``api-coverage.json``, the terminal and the HTML.

While it is on, every request an ``httpx`` client in a test process sends to the app is
recorded (method, URL, status) to ``<run>/api-calls/<process>.jsonl``: the suites' own
clients, the ``api`` fixture and SDKs built on httpx alike. ``httpx.Client.send`` is
wrapped for the session and restored when pytest ends. The first test that uses the
stack fetches the app's spec (``--api-spec``, default ``/openapi.json``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Generator
from typing import IO, Any, final

import httpx
import pytest

from interlock.plugin.run import RunContext, run_context
from interlock.report.apicoverage import (
    API_COVERAGE_FILE,
    api_coverage,
    read_calls,
    write_api_coverage,
)

__all__ = ["ApiRecorder"]

_CALLS = "api-calls"
_SPEC = "openapi.json"


@final
class ApiRecorder:
    """Records this process's calls to the app; in the controller, writes the coverage."""

    NAME = "interlock-api-coverage"

    def __init__(self, run: RunContext, spec_path: str) -> None:
        self.run = run
        self.spec_path = spec_path
        self.app_url: str | None = None
        self.summary = ""
        self.unexercised: list[str] = []
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        self._originals: dict[type[Any], Any] = {}

    # -- recording ------------------------------------------------------------------
    def install(self) -> None:
        recorder = self
        sync_send = httpx.Client.send
        async_send = httpx.AsyncClient.send

        def send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            response = sync_send(client, request, **kwargs)
            recorder.note(request, response)
            return response

        async def asend(
            client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
        ) -> httpx.Response:
            response = await async_send(client, request, **kwargs)
            recorder.note(request, response)
            return response

        self._originals = {httpx.Client: sync_send, httpx.AsyncClient: async_send}
        httpx.Client.send = send  # type: ignore[method-assign,assignment]
        httpx.AsyncClient.send = asend  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        for cls, original in self._originals.items():
            cls.send = original
        self._originals = {}
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def note(self, request: httpx.Request, response: httpx.Response) -> None:
        url = str(request.url)
        if self.app_url is None or not url.startswith(self.app_url):
            return
        line = json.dumps({"method": request.method, "url": url, "status": response.status_code})
        with self._lock:
            if self._file is None:
                folder = self.run.ensure_run_dir() / _CALLS
                folder.mkdir(exist_ok=True)
                self._file = (folder / f"{self.run.worker or 'main'}.jsonl").open("a")
            self._file.write(line + "\n")
            self._file.flush()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if self.app_url is not None:
            return
        stack = getattr(item, "funcargs", {}).get("stack")
        app_url = getattr(stack, "app_url", None)
        if not isinstance(app_url, str):
            return
        spec_file = self.run.ensure_run_dir() / _SPEC
        if not spec_file.exists():
            try:
                response = httpx.get(app_url.rstrip("/") + self.spec_path, timeout=10)
                response.raise_for_status()
                spec = response.json()
            except (httpx.HTTPError, ValueError):
                spec = None  # said at the end: no spec, no API coverage
            if isinstance(spec, dict):
                tmp = spec_file.with_name(f".{_SPEC}.{os.getpid()}")
                tmp.write_text(json.dumps(spec), encoding="utf-8")
                os.replace(tmp, spec_file)
        (self.run.run_dir / _CALLS).mkdir(exist_ok=True)
        (self.run.run_dir / _CALLS / "app-url").write_text(app_url, encoding="utf-8")
        self.app_url = app_url

    # -- the controller's summary -----------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield
        if self.run.worker is not None:
            return
        spec_file = self.run.run_dir / _SPEC
        url_file = self.run.run_dir / _CALLS / "app-url"
        if not spec_file.is_file() or not url_file.is_file():
            self.summary = (
                f"API coverage: no OpenAPI spec (no test used the app, or GET {self.spec_path} "
                "did not answer one)"
            )
            return
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
        calls = read_calls(self.run.run_dir / _CALLS, url_file.read_text(encoding="utf-8"))
        operations = api_coverage(spec, calls)
        self.summary = write_api_coverage(operations, self.run.run_dir / API_COVERAGE_FILE)
        self.unexercised = [f"{op.method} {op.path}" for op in operations if not op.calls]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.run.worker is not None or not self.summary:
            return
        terminalreporter.write_line(self.summary)
        for operation in self.unexercised:
            terminalreporter.write_line(f"  never called: {operation}", yellow=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interlock")
    group.addoption(
        "--api-coverage",
        action="store_true",
        default=False,
        help="report which of the app's OpenAPI operations and responses the suites exercised",
    )
    group.addoption(
        "--api-spec",
        default="/openapi.json",
        metavar="PATH",
        help="where the app serves its OpenAPI document (default /openapi.json)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("api_coverage"):
        return
    recorder = ApiRecorder(run_context(config), config.getoption("api_spec"))
    recorder.install()
    config.add_cleanup(recorder.uninstall)
    config.pluginmanager.register(recorder, ApiRecorder.NAME)
