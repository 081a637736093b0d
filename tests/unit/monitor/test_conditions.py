"""Conditions on an HTTP answer: parsing once, checking without ever raising."""

from __future__ import annotations

import pytest

from interlock.errors import ConfigError
from interlock.monitor.conditions import Answer, extract, parse_condition, parse_path


def test_status_condition_holds_and_fails_with_the_value_seen() -> None:
    condition = parse_condition("[STATUS] == 200", "t")
    assert condition.check(Answer(status=200, response_ms=1)) is None
    assert condition.check(Answer(status=503, response_ms=1)) == "[STATUS] == 200: got 503"


def test_json_path_condition_reads_nested_fields_and_list_sizes() -> None:
    body = {"db": {"state": "up"}, "breakers": [{"open": False}, {"open": True}]}
    answer = Answer(status=200, response_ms=1, body=body)
    assert parse_condition('$.db.state == "up"', "t").check(answer) is None
    assert parse_condition("$.breakers.length <= 2", "t").check(answer) is None
    assert parse_condition("$.breakers[1].open == false", "t").check(answer) is not None
    assert parse_condition("$.db.state == up", "t").check(answer) is None  # bare word: a string


def test_condition_on_a_body_that_is_not_json_fails_instead_of_raising() -> None:
    condition = parse_condition("$.status == ok", "t")
    assert (
        condition.check(Answer(status=200, response_ms=1)) == "$.status == ok: the body is not JSON"
    )
    answer = Answer(status=200, response_ms=1, body={"other": 1})
    assert condition.check(answer) == "$.status == ok: the body has no such field"


def test_ordering_a_string_against_a_number_is_a_failed_check_not_a_crash() -> None:
    answer = Answer(status=200, response_ms=1, body={"backlog": "lots"})
    assert parse_condition("$.backlog < 10", "t").check(answer) is not None


@pytest.mark.parametrize(
    "text",
    ["[STATUS] =! 200", "STATUS == 200", "$.a..b == 1", "$.a < up", "[STATUS]", "$x == 1", ""],
)
def test_malformed_condition_is_a_config_error_naming_where(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^probes\.web: "):
        parse_condition(text, "probes.web")


#: the shape of WMS's GET /api/v1/integrations: one entry per external service
INTEGRATIONS = [
    {"name": "stripe", "breaker": "open", "healthy": False, "shed": 4, "in_flight": 1},
    {"name": "twilio", "breaker": "closed", "healthy": True, "shed": 0, "in_flight": 2},
    {"name": "mapbox", "breaker": "half_open", "healthy": False, "shed": 1, "in_flight": 0},
]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ('$[?breaker == "open"].length', 1),
        ("$[?healthy == false].length", 2),
        ("$[*].shed.sum", 5),
        ("$[*].in_flight.max", 2),
        ("$[?shed > 0].name", ["stripe", "mapbox"]),
        ("$[?breaker == closed].length", 1),
    ],
)
def test_selections_count_and_sum_over_a_list(path: str, value: object) -> None:
    assert extract(INTEGRATIONS, parse_path(path, "t")) == value


def test_condition_on_a_selection_holds_until_a_breaker_opens() -> None:
    condition = parse_condition('$[?breaker == "open"].length == 0', "t")
    assert condition.check(Answer(200, 1, INTEGRATIONS[1:])) is None
    assert condition.check(Answer(200, 1, INTEGRATIONS)) == (
        '$[?breaker == "open"].length == 0: got 1'
    )


def test_folding_what_is_not_a_number_is_missing_not_a_crash() -> None:
    assert extract(INTEGRATIONS, parse_path("$[*].name.sum", "t")) is not None
    condition = parse_condition("$[*].name.sum > 1", "t")
    assert condition.check(Answer(200, 1, INTEGRATIONS)) == (
        "$[*].name.sum > 1: the body has no such field"
    )


@pytest.mark.parametrize("path", ["$[*][*].a", "$[?a ~ 1]", "$[?a == b c]"])
def test_malformed_selection_is_a_config_error(path: str) -> None:
    with pytest.raises(ConfigError, match=r"^t: "):
        parse_path(path, "t")
