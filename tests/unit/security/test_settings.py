"""``[tool.interlock.security]`` is checked when the configuration loads: a misspelt key
names the nearest known one, a bad value is one line, and `interlock run` exits 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from interlock.config import load_config
from interlock.errors import ConfigError
from interlock.security import parse_security


def config_with(tmp_path, body: str):
    (tmp_path / "pyproject.toml").write_text(f"[tool.interlock]\n{body}")
    return load_config(tmp_path, environ={})


def test_a_full_section_gives_typed_settings(tmp_path):
    config = config_with(
        tmp_path,
        """
[tool.interlock.security]
roles = ["admin", "customer"]
[tool.interlock.security.login]
path = "/login"
per_account = 3
[tool.interlock.security.limits]
max_body_bytes = 2048
[tool.interlock.security.websocket]
token = "header"
channels = { "owner:{other}" = { customer = "refused", "*" = "allowed" } }
""",
    )
    settings = parse_security(config.security)
    assert settings.login is not None
    assert (settings.login.path, settings.login.per_account, settings.login.per_client) == (
        "/login",
        3,
        20,
    )
    assert (settings.limits.max_body_bytes, settings.limits.header_status) == (2048, 431)
    ws = settings.websocket
    assert ws is not None
    assert ws.verdict("owner:{other}", "customer") == "refused"
    assert ws.verdict("owner:{other}", "admin") == "allowed"
    assert ws.subscription("pickups") == '{"action": "subscribe", "channels": ["pickups"]}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.interlock.security]\nlogn = {}", "unknown key 'logn' (did you mean 'login'?)"),
        (
            '[tool.interlock.security.login]\npath = "/l"\nper_acount = 3',
            "did you mean 'per_account'?",
        ),
        ("[tool.interlock.security.login]\nper_account = 3", "path must name the login endpoint"),
        ('[tool.interlock.security.login]\npath = "login"', "must be a path starting with '/'"),
        (
            '[tool.interlock.security.login]\npath = "/l"\nper_client = 0',
            "per_client must be a whole number from 1",
        ),
        ("[tool.interlock.security.limits]\nmax_body_bytes = '1MB'", "max_body_bytes must be"),
        ('[tool.interlock.security.websocket]\ntoken = "cookie"', "must be 'query' or 'header'"),
        (
            '[tool.interlock.security.websocket]\nsubscribe = \'{"channel": "x"}\'',
            "must hold {channel}",
        ),
        (
            '[tool.interlock.security]\nroles = ["admin"]\n'
            '[tool.interlock.security.websocket.channels]\nx = { admn = "refused" }',
            "did you mean 'admin'?",
        ),
        (
            "[tool.interlock.security.websocket.channels]\nx = { admin = 'open' }",
            "must be 'allowed' or 'refused'",
        ),
        (
            '[tool.interlock.security]\nroles = ["admin"]\n'
            '[tool.interlock.security.authz]\n"GET /x" = { driver = 200 }',
            "unknown role 'driver'",
        ),
    ],
)
def test_a_mistake_is_one_line_when_the_configuration_loads(tmp_path, body, message):
    with pytest.raises(ConfigError) as error:
        config_with(tmp_path, body)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_interlock_run_exits_2_on_a_misspelt_security_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.interlock]\n[tool.interlock.security.limits]\nmax_frame_byte = 10\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "interlock.cli", "run"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "did you mean 'max_frame_bytes'?" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
