"""Configuration: defaults, [tool.interlock], and environment overrides, with clear errors."""

from __future__ import annotations

import re

import pytest

from interlock.config import load_config, override_thresholds
from interlock.errors import ConfigError


def write(tmp_path, body: str):
    (tmp_path / "pyproject.toml").write_text(body)
    return tmp_path


def test_defaults_are_the_seed_thresholds(tmp_path):
    config = load_config(write(tmp_path, ""), environ={})
    t = config.thresholds
    assert (
        t.integration_timeout,
        t.performance_threshold,
        t.latency_threshold,
        t.coverage_threshold,
    ) == (60000, 95, 2000, 85)
    assert config.postgres.url is None
    assert config.redis.url is None


def test_environment_overrides_pyproject_which_overrides_defaults(tmp_path):
    root = write(
        tmp_path, "[tool.interlock]\nlatency_threshold = 1500\nperformance_threshold = 90\n"
    )
    config = load_config(root, environ={"LATENCY_THRESHOLD": "800"})
    assert config.thresholds.latency_threshold == 800
    assert config.thresholds.performance_threshold == 90


def test_database_and_redis_urls_come_from_the_environment(tmp_path):
    root = write(tmp_path, '[tool.interlock.postgres]\nurl = "postgresql://a@h/db"\n')
    config = load_config(root, environ={"INTERLOCK_REDIS_URL": "redis://r:1/0"})
    assert config.postgres.url == "postgresql://a@h/db"
    assert config.redis.url == "redis://r:1/0"
    assert (
        load_config(root, environ={"INTERLOCK_DATABASE_URL": "postgresql://b@h/db"}).postgres.url
        == "postgresql://b@h/db"
    )


def test_the_apps_own_database_and_redis_variables_are_never_read(tmp_path):
    """DATABASE_URL / REDIS_URL in a developer's shell belong to their app, not to Interlock."""
    config = load_config(
        write(tmp_path, ""),
        environ={"DATABASE_URL": "postgresql://me@dev/db", "REDIS_URL": "redis://dev:6379/0"},
    )
    assert config.postgres.url is None
    assert config.redis.url is None


@pytest.mark.parametrize(
    ("body", "environ", "message"),
    [
        (
            "[tool.interlock]\nlatncy_threshold = 3\n",
            {},
            "[tool.interlock] has an unknown key 'latncy_threshold' "
            "(did you mean 'latency_threshold'?)",
        ),
        (
            '[tool.interlock.app]\ncommand = ["x"]\nhealth_path = "/h"\n',
            {},
            "[tool.interlock.app] has an unknown key 'health_path' (did you mean 'health'?)",
        ),
        (
            '[tool.interlock.services.worker]\ncommand = ["x"]\nreadytimeout = 3\n',
            {},
            "[tool.interlock.services.worker] has an unknown key 'readytimeout' "
            "(did you mean 'ready_timeout'?)",
        ),
        (
            "[tool.interlock.postgres]\ndatabse = 'x'\n",
            {},
            "[tool.interlock.postgres] has an unknown key 'databse' (did you mean 'database'?)",
        ),
        (
            "[tool.interlock.redis]\nenable = false\n",
            {},
            "[tool.interlock.redis] has an unknown key 'enable' (did you mean 'enabled'?)",
        ),
        (
            "[tool.interlock.suites.nightly]\nmarkers = 'slow'\n",
            {},
            "[tool.interlock.suites.nightly] has an unknown key 'markers' (did you mean 'marker'?)",
        ),
        (
            "[tool.interlock.app]\ncommand = ['x']\nready_timeout = 0\n",
            {},
            "[tool.interlock.app] ready_timeout must be a positive number of seconds, got 0",
        ),
        (
            "[tool.interlock.services.w]\ncommand = ['x']\nready_timeout = -1\n",
            {},
            "ready_timeout must be a positive number of seconds, got -1",
        ),
        (
            "[tool.interlock.app]\ncommand = ['x']\nreplicas = 0\n",
            {},
            "[tool.interlock.app] replicas must be a whole number >= 1, got 0",
        ),
        (
            "[tool.interlock.app]\ncommand = ['x']\nreplicas = 1.5\n",
            {},
            "[tool.interlock.app] replicas must be a whole number >= 1, got 1.5",
        ),
        (
            "[tool.interlock.app]\ncommand = ['x']\nhealth_interval = 0\n",
            {},
            "[tool.interlock.app] health_interval must be a positive number of seconds, got 0",
        ),
        (
            "[tool.interlock.services.w]\ncommand = ['x']\nreplicas = 2\n",
            {},
            "[tool.interlock.services.w] has an unknown key 'replicas'",
        ),
        (
            '[tool.interlock.slo]\nonboarding = ["p(95)<<2"]\n',
            {},
            "[tool.interlock.slo] onboarding: bad threshold 'p(95)<<2'",
        ),
        ("[tool.interlock]\npostgres = 'no'\n", {}, "postgres must be true, false or a table"),
        (
            "[tool.interlock.suites]\n'--all' = 'x'\n",
            {},
            "[tool.interlock.suites] --all: a suite name is",
        ),
        ("[tool.interlock.suites]\nsmoke = 3\n", {}, "must be a marker expression, a list"),
        (
            "",
            {"INTERLOCK_DATABASE_URL": "mysql://u:secret@h/db"},
            "$INTERLOCK_DATABASE_URL must be a URL starting with postgresql://",
        ),
        (
            "[tool.interlock.redis]\nurl = 'localhost:6379'\n",
            {},
            "[tool.interlock.redis] url must be a URL starting with redis://",
        ),
        (
            '[tool.interlock]\nlatency_threshold = "fast"\n',
            {},
            "latency_threshold must be a number",
        ),
        ("", {"PERFORMANCE_THRESHOLD": "abc"}, "$PERFORMANCE_THRESHOLD must be a number"),
        ("", {"PERFORMANCE_THRESHOLD": "120"}, "between 0 and 100"),
        ("[tool.interlock.app]\ncommand = []\n", {}, "command must be a non-empty list"),
        ('[tool.interlock.app]\ncommand = ["x"]\nhealth = "ready"\n', {}, "must be an HTTP path"),
        ('[tool.interlock]\nsimulators = "stripe"\n', {}, "simulators must be a list"),
        (
            '[tool.interlock]\nsimulators = ["stripe", "twilio", "stripe"]\n',
            {},
            "[tool.interlock] simulators names 'stripe' twice (list each once)",
        ),
        ("[tool.interlock\n", {}, "not valid TOML"),
        (
            '[tool.interlock]\nsimulators = ["stripe"]\n[tool.interlock.seed_data.twilio]\n',
            {},
            "[tool.interlock.seed_data.twilio] is for a simulator not in",
        ),
        (
            '[tool.interlock]\nsimulators = ["stripe"]\nseed_data = {stripe = 1}\n',
            {},
            "[tool.interlock.seed_data.stripe] must be a table",
        ),
    ],
)
def test_bad_configuration_is_one_clear_error(tmp_path, body, environ, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body), environ=environ)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("body", "postgres", "redis"),
    [
        ("[tool.interlock]\npostgres = false\nredis = false\n", False, False),
        ("[tool.interlock]\nredis = false\n", True, False),
        ("[tool.interlock.postgres]\nenabled = false\n", False, True),
        ("[tool.interlock.redis]\nenabled = false\nurl = 'redis://h:1/0'\n", True, False),
        ("[tool.interlock]\n", True, True),
    ],
)
def test_postgres_and_redis_can_be_left_out(tmp_path, body, postgres, redis):
    config = load_config(write(tmp_path, body), environ={})
    assert (config.postgres.enabled, config.redis.enabled) == (postgres, redis)


def test_suites_are_the_seeds_five_plus_the_projects_own(tmp_path):
    root = write(
        tmp_path,
        "[tool.interlock.suites]\n"
        'smoke = "smoke and not slow"\n'
        'contracts = ["tests/contracts", "tests/sdk.py"]\n'
        'business = { marker = "business or billing", description = "money" }\n',
    )
    suites = load_config(root, environ={}).suites
    assert list(suites) == [
        "comprehensive",
        "workflow",
        "business",
        "external",
        "performance",
        "smoke",
        "contracts",
    ]
    assert (suites["comprehensive"].marker, suites["comprehensive"].paths) == ("", ())
    assert suites["smoke"].marker == "smoke and not slow"
    assert suites["contracts"].paths == (root / "tests/contracts", root / "tests/sdk.py")
    assert (suites["business"].marker, suites["business"].description) == (
        "business or billing",
        "money",
    )


def test_a_project_without_a_table_of_its_own_is_told_apart(tmp_path):
    assert load_config(write(tmp_path, "[project]\nname = 'x'\n"), environ={}).source is None
    assert load_config(write(tmp_path, "[tool.interlock]\n"), environ={}).source == (
        tmp_path / "pyproject.toml"
    )


def test_per_workflow_thresholds_are_read(tmp_path):
    root = write(
        tmp_path,
        '[tool.interlock.slo]\nonboarding = ["p(95)<1500", "rate>=0.99"]\nbilling = "avg<200"\n',
    )
    config = load_config(root, environ={})
    assert config.slo == {"onboarding": ("p(95)<1500", "rate>=0.99"), "billing": ("avg<200",)}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"performance_threshold": 150}, "--x: performance_threshold must be a percentage"),
        ({"latency_threshold": -3}, "--x: latency_threshold must be a positive number of ms"),
        ({"integration_timeout": "soon"}, "--x integration_timeout must be a number"),
        ({"latency_threshold": "nan"}, "must be a finite number"),
    ],
)
def test_overrides_are_validated_as_the_file_is(tmp_path, values, message):
    config = load_config(write(tmp_path, ""), environ={})
    with pytest.raises(ConfigError, match=re.escape(message)):
        override_thresholds(config, "--x", **values)


def test_a_valid_override_replaces_only_its_threshold(tmp_path):
    config = load_config(write(tmp_path, ""), environ={})
    changed = override_thresholds(config, "--latency-threshold", latency_threshold="100")
    assert changed.thresholds.latency_threshold == 100
    assert changed.thresholds.performance_threshold == 95


def test_postgres_server_settings_are_read_as_the_server_takes_them(tmp_path):
    root = write(
        tmp_path,
        "[tool.interlock.postgres]\nsettings = { shared_preload_libraries = "
        '"pg_stat_statements", "pg_stat_statements.track" = "all", jit = false, '
        "max_connections = 300 }\n",
    )
    assert load_config(root, environ={}).postgres.settings == {
        "shared_preload_libraries": "pg_stat_statements",
        "pg_stat_statements.track": "all",
        "jit": "off",
        "max_connections": "300",
    }
    assert load_config(write(tmp_path, ""), environ={}).postgres.settings == {}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("port = 5433", "port is set by Interlock and cannot be changed"),
        ('"work mem" = "4MB"', "'work mem' is not a PostgreSQL setting name"),
        ("work_mem = ['4MB']", "work_mem must be a string, number or boolean"),
    ],
)
def test_postgres_server_settings_that_cannot_be_applied_are_refused(tmp_path, settings, message):
    root = write(tmp_path, f"[tool.interlock.postgres]\nsettings = {{ {settings} }}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(root, environ={})
