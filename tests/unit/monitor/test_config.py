"""``[tool.interlock.monitor]``: defaults from the seed, one clear error per bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from interlock.errors import ConfigError
from interlock.monitor.config import parse_monitor_config


def _config(probes: dict[str, Any], **top: Any) -> Any:
    return parse_monitor_config(Path("/p"), {"probes": probes, **top})


def test_defaults_are_the_seeds() -> None:
    config = _config({"web": {"type": "http", "url": "http://127.0.0.1:1/"}})
    assert (config.interval, config.timeout) == (30, 10)
    limits = config.thresholds
    assert (limits.success_rate, limits.response_time, limits.error_rate) == (95, 2000, 5)
    assert (limits.memory, limits.cpu) == (80, 70)
    assert config.probes[0].interval == 30
    assert config.history == Path("/p/.interlock/monitor/history.db")


def test_probe_settings_override_the_defaults() -> None:
    config = _config(
        {"web": {"type": "http", "url": "http://h/", "interval": 2, "failure_threshold": 3}},
        interval=5,
    )
    assert config.probes[0].interval == 2
    assert config.probes[0].failure_threshold == 3


@pytest.mark.parametrize(
    ("probes", "message"),
    [
        ({"x": {"type": "smtp", "url": "smtp://h"}}, "unknown probe type 'smtp'"),
        ({"x": {"type": "http"}}, 'needs url = "..."'),
        ({"x": {"type": "http", "url": "not a url"}}, "is not a http URL"),
        ({"x": {"type": "http", "url": "http://h:99999/"}}, "malformed port"),
        ({"x": {"type": "tcp", "address": "nohost"}}, "address must be 'host:port'"),
        ({"x": {"type": "postgres", "url": "http://h/"}}, "is not a postgres URL"),
        ({"x": {"type": "http", "url": "http://h/", "depends_on": ["db"]}}, "depends_on 'db'"),
        ({"x": {"type": "http", "url": "http://h/", "retries": 3}}, "unknown key(s) retries"),
        ({"x": {"type": "http", "url": "http://h/", "interval": 0}}, "positive number"),
        ({"x": {"type": "synthetic", "function": "no_such_module:f"}}, "cannot import"),
        ({"x": {"type": "synthetic", "function": "json:dumps"}}, "is not an async function"),
        ({"x": {"type": "tcp", "address": "h:1", "conditions": ["[STATUS] == 1"]}}, "http"),
    ],
)
def test_bad_probe_is_one_config_error(probes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(probes)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_threshold_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cpu must be a percentage"):
        _config({"w": {"type": "http", "url": "http://h/"}}, thresholds={"cpu": 170})


def test_no_probes_and_no_running_stack_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nothing to monitor"):
        parse_monitor_config(Path("/p"), {})


def test_synthetic_probe_loads_its_async_function() -> None:
    config = _config({"flow": {"type": "synthetic", "function": "asyncio:sleep"}})
    assert config.probes[0].function is not None


def test_the_documented_example_is_valid() -> None:
    import tomllib

    from interlock.monitor import config as module

    assert module.__doc__ is not None
    example = module.__doc__.split("E.g.::")[1]
    text = "\n".join(line[4:] for line in example.splitlines())
    table = tomllib.loads(text)["tool"]["interlock"]["monitor"]
    del table["probes"]["checkout"]  # names a module of the reader's own
    config = parse_monitor_config(Path("/p"), table)
    assert [p.name for p in config.probes] == ["db", "api", "integrations"]
    assert config.probes[1].depends_on == ("db",)


def test_history_is_a_file_a_database_url_or_the_stacks_database() -> None:
    probes = {"w": {"type": "tcp", "address": "h:1"}}
    url = "postgresql://postgres@127.0.0.1:5/db"

    def history(value: str) -> object:
        table = {"probes": probes, "history": value}
        return parse_monitor_config(Path("/p"), table, stack_database=url).history

    assert history("h.db") == Path("/p/h.db")
    assert history("postgresql://me@db/x") == "postgresql://me@db/x"
    assert history("stack") == url
    with pytest.raises(ConfigError, match="needs a running 'interlock env up'"):
        parse_monitor_config(Path("/p"), {"probes": probes, "history": "stack"})
