"""--api-coverage lists every operation of the app's OpenAPI spec with what the suites did."""

from __future__ import annotations

import json

import pytest

from interlock.report.apicoverage import Call, api_coverage

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false

[tool.interlock.app]
command = ["{python}", "server/app.py", "{port}"]
health = "/health"
"""

SPEC = {
    "openapi": "3.1.0",
    "paths": {
        "/items": {
            "get": {"responses": {"200": {}}},
            "post": {"responses": {"201": {}, "422": {}}},
        },
        "/items/{item_id}": {"get": {"responses": {"200": {}, "404": {}}}},
        "/items/special": {"get": {"responses": {"200": {}}}},
    },
}

APP = f"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SPEC = json.dumps({SPEC!r}).encode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/openapi.json":
            status, body = 200, SPEC
        elif self.path in ("/health", "/items", "/items/7"):
            status, body = 200, b"{{}}"
        else:
            status, body = 404, b"{{}}"
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

SUITE = """
def test_items(api):
    assert api.get("/items").status_code == 200
    assert api.get("/items/7").status_code == 200
    assert api.get("/items/missing").status_code == 404
"""


def test_every_operation_is_listed_with_its_calls_and_exercised_responses(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.mkdir("server")
    (pytester.path / "server" / "app.py").write_text(APP)
    pytester.makepyfile(test_items=SUITE)
    run_dir = pytester.path / "run"
    # in a process of its own: the recorder wraps httpx for the whole session
    result = pytester.runpytest_subprocess(f"--interlock-run-dir={run_dir}", "--api-coverage")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "API coverage: 2 of 4 operations (50.0%), 3 of 6 declared responses",
            "  never called: POST /items",
            "  never called: GET /items/special",
        ]
    )
    document = json.loads((run_dir / "api-coverage.json").read_text())
    listed = {(op["method"], op["path"]): op for op in document["operations"]}
    assert set(listed) == {
        ("GET", "/items"),
        ("POST", "/items"),
        ("GET", "/items/{item_id}"),
        ("GET", "/items/special"),
    }
    assert listed[("GET", "/items/{item_id}")]["statuses"] == {"200": 1, "404": 1}
    assert listed[("GET", "/items/{item_id}")]["exercised"] == ["200", "404"]
    assert "API coverage, by operation" in (run_dir / "report.html").read_text()


def test_a_fixed_path_wins_over_a_template_and_default_and_ranges_count() -> None:
    spec = {
        "paths": {
            "/a/{x}": {"get": {"responses": {"200": {}, "default": {}}}},
            "/a/b": {"get": {"responses": {"2XX": {}}}},
        }
    }
    ops = api_coverage(spec, [Call("GET", "/a/b", 204), Call("GET", "/a/c", 500)])
    by_path = {op.path: op for op in ops}
    assert by_path["/a/b"].exercised_responses() == ["2XX"]
    assert by_path["/a/{x}"].statuses == {500: 1}
    assert by_path["/a/{x}"].exercised_responses() == ["default"]
