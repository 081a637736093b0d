"""The official pyairtable client against the Airtable simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pyairtable import Api
from pyairtable.formulas import match

from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "airtable"
TOKEN = "patInterlock.simulated-token"
BASE = "appWMS00000000001"
FIELDS = ["Customer", "Bin", "Status", "Done", "Weight"]
# the rate limit has its own tests; elsewhere it would only add retries
SEED = {
    "api_keys": [TOKEN],
    "rate_limit": {"per_second": None},
    "bases": {
        BASE: {"Pickups": {"id": "tblPickups000001", "fields": FIELDS}},
        "appOther000000001": {"Pickups": {}},
    },
}


def connect(server: ThreadedSimulator, token: str = TOKEN, **options: Any) -> Api:
    return Api(token, endpoint_url=server.url, **options)


@pytest.fixture
def api(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[Api]:
    client = connect(server)
    yield client
    client.session.close()


def test_record_is_created_read_updated_and_deleted(api):
    table = api.table(BASE, "Pickups")
    created = table.create({"Customer": "Ann", "Bin": "B-17", "Status": "open"})
    assert created["id"].startswith("rec")
    assert created["createdTime"].endswith("Z")
    assert table.get(created["id"])["fields"]["Bin"] == "B-17"
    patched = table.update(created["id"], {"Status": "done", "Done": True})
    assert patched["fields"] == {"Customer": "Ann", "Bin": "B-17", "Status": "done", "Done": True}
    replaced = table.update(created["id"], {"Customer": "Ann"}, replace=True)
    assert replaced["fields"] == {"Customer": "Ann"}
    assert table.delete(created["id"]) == {"id": created["id"], "deleted": True}
    with pytest.raises(requests.HTTPError) as info:
        table.get(created["id"])
    assert info.value.response.status_code == 404
    assert info.value.response.json() == {"error": "NOT_FOUND"}


def test_table_is_found_by_id_as_well_as_name(api):
    record = api.table(BASE, "Pickups").create({"Bin": "B-1"})
    assert api.table(BASE, "tblPickups000001").get(record["id"])["fields"] == {"Bin": "B-1"}


def test_batch_create_sends_ten_a_request_and_paging_walks_every_page(api, control):
    table = api.table(BASE, "Pickups")
    created = table.batch_create([{"Bin": f"B-{i:02}"} for i in range(23)])
    assert len(created) == 23
    assert len(control.journal(method="POST")) == 3
    pages = list(table.iterate(page_size=5))
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [r["id"] for page in pages for r in page] == [r["id"] for r in created]
    listed = control.journal(method="GET")
    assert "offset" not in listed[0]["query"]
    assert all(call["query"]["offset"].startswith("itr") for call in listed[1:])
    assert len(table.all(max_records=7)) == 7


def test_formula_sort_and_fields_select_records(api):
    table = api.table(BASE, "Pickups")
    table.batch_create(
        [
            {"Bin": "B-1", "Status": "open"},
            {"Bin": "B-3", "Status": "open"},
            {"Bin": "B-2", "Status": "done"},
            {"Bin": "B-4", "Status": "open", "Customer": "Bo"},
        ]
    )
    found = table.all(formula=match({"Status": "open"}), sort=["-Bin"], fields=["Bin"])
    assert [r["fields"] for r in found] == [{"Bin": "B-4"}, {"Bin": "B-3"}, {"Bin": "B-1"}]
    only = table.first(formula=match({"Status": "open", "Customer": "Bo"}))
    assert only is not None
    assert only["fields"]["Bin"] == "B-4"


def test_numbers_sort_as_numbers_and_empty_cells_last(api):
    table = api.table(BASE, "Pickups")
    table.batch_create([{"Weight": 100}, {"Bin": "B-0"}, {"Weight": 9}, {"Weight": 10}])
    assert [r["fields"].get("Weight") for r in table.all(sort=["Weight"])] == [9, 10, 100, None]


def test_upsert_updates_matches_and_creates_the_rest(api):
    table = api.table(BASE, "Pickups")
    existing = table.create({"Bin": "B-1", "Status": "open"})
    result = table.batch_upsert(
        [
            {"fields": {"Bin": "B-1", "Status": "done"}},
            {"fields": {"Bin": "B-9", "Status": "open"}},
        ],
        key_fields=["Bin"],
    )
    assert result["updatedRecords"] == [existing["id"]]
    assert len(result["createdRecords"]) == 1
    assert table.get(existing["id"])["fields"]["Status"] == "done"


def test_unknown_field_is_unprocessable(api):
    with pytest.raises(requests.HTTPError) as info:
        api.table(BASE, "Pickups").create({"Colour": "green"})
    assert info.value.response.status_code == 422
    assert info.value.response.json()["error"] == {
        "type": "UNKNOWN_FIELD_NAME",
        "message": 'Unknown field name: "Colour"',
    }
    assert "UNKNOWN_FIELD_NAME" in str(info.value)  # pyairtable appends the error to the args


def test_more_than_ten_records_in_one_request_is_unprocessable(api):
    table = api.table(BASE, "Pickups")
    with pytest.raises(requests.HTTPError) as info:
        api.request(
            "POST",
            table.urls.records,
            json={"records": [{"fields": {"Bin": str(i)}} for i in range(11)]},
        )
    assert info.value.response.status_code == 422
    assert table.all() == []


def test_unknown_table_is_forbidden(api):
    with pytest.raises(requests.HTTPError) as info:
        api.table(BASE, "Invoices").all()
    assert info.value.response.status_code == 403
    assert info.value.response.json()["error"]["type"] == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"


def test_wrong_token_is_unauthorized(server, control):
    stranger = connect(server, "patSomeoneElse")
    try:
        with pytest.raises(requests.HTTPError) as info:
            stranger.table(BASE, "Pickups").all()
    finally:
        stranger.session.close()
    assert info.value.response.status_code == 401
    assert info.value.response.json()["error"]["type"] == "UNAUTHORIZED"


def test_sixth_request_in_a_second_is_limited_and_so_is_the_penalty_after_it(server, control):
    control.seed({"rate_limit": {"per_second": 5, "penalty_s": 30}})
    api = connect(server, retry_strategy=None)
    table = api.table(BASE, "Pickups")
    try:
        for _ in range(5):
            table.all()
        assert api.table("appOther000000001", "Pickups").all() == []  # the limit is per base
        with pytest.raises(requests.HTTPError) as info:
            table.all()
        assert info.value.response.status_code == 429
        assert info.value.response.json() == {
            "errors": [
                {
                    "error": "RATE_LIMIT_REACHED",
                    "message": "Rate limit exceeded. Please try again later",
                }
            ]
        }
        with pytest.raises(requests.HTTPError):
            table.all()  # within the penalty
    finally:
        api.session.close()
    assert control.state()["penalized_for_s"][BASE] > 29


def test_pyairtable_retries_through_a_short_penalty(server, control):
    control.seed({"rate_limit": {"per_second": 2, "penalty_s": 0.2}})
    api = connect(server)
    try:
        table = api.table(BASE, "Pickups")
        table.create({"Bin": "B-1"})
        table.create({"Bin": "B-2"})
        assert len(table.all()) == 2  # over the limit: 429s, then pyairtable's backoff wins
    finally:
        api.session.close()
    statuses = [call["status"] for call in control.journal(method="GET")]
    assert statuses[0] == 429
    assert statuses[-1] == 200


def test_retry_after_from_a_fault_is_honoured(api, control):
    table = api.table(BASE, "Pickups")
    started = time.monotonic()
    with control.fault("rate_limit", retry_after=1, times=1):
        assert table.all() == []
    assert time.monotonic() - started >= 1.0  # urllib3 slept Retry-After, not its 0 s backoff
    assert [call["status"] for call in control.journal()] == [429, 200]


def test_formulas_with_order_comparisons_filter_as_airtable_does(api):
    # pyairtable.formulas GT/GTE/LT/LTE write {Field}>value etc.; Airtable's formula
    # reference ("Formula field reference", logical operators > >= < <=) evaluates them
    from pyairtable.formulas import GT, GTE, LT, LTE, Field

    table = api.table(BASE, "Pickups")
    for weight in (5, 10, 20):
        table.create({"Customer": f"w{weight}", "Weight": weight})
    weights = lambda formula: sorted(r["fields"]["Weight"] for r in table.all(formula=formula))  # noqa: E731
    assert weights(GT(Field("Weight"), 10)) == [20]
    assert weights(GTE(Field("Weight"), 10)) == [10, 20]
    assert weights(LT(Field("Weight"), 10)) == [5]
    assert weights(LTE(Field("Weight"), 10)) == [5, 10]
    assert weights("AND({Weight}>5, {Weight}<=20)") == [10, 20]


def test_the_metadata_api_is_refused_as_not_simulated(api):
    with pytest.raises(requests.HTTPError) as info:
        api.bases()
    assert info.value.response.status_code == 501
    assert "not simulated: GET /v0/meta/bases" in info.value.response.text
