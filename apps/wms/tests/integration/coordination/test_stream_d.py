"""Stream D: versioned configuration reaches every process, is acknowledged and rolled
back; drift shows on the health endpoints; a dependency's restart is re-readiness.

The processes are the API and the worker: each reports on its own health endpoint which
configuration version it applied, and acknowledges it in ``config_acks``.
"""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from interlock.helpers.deadline import poll
from interlock.ports import free_port
from interlock.stack.process import ManagedProcess
from interlock.stack.wiring import HttpProbe
from wms import __version__
from wms.coordination.dependencies import DECLARED

pytestmark = pytest.mark.workflow

#: acceptance: a change is applied and acknowledged by every process within this, s
PROPAGATION_SECONDS = 2.0
PROCESSES = {"app": "api", "worker": "worker"}


def health_url(stack, name: str) -> str:
    if name == "app":
        return f"{stack.app_url}/health"
    return f"http://127.0.0.1:{stack.processes[name].port}/health"


def health(stack, name: str) -> httpx.Response:
    return httpx.get(health_url(stack, name), timeout=10)


def ready(stack, name: str) -> int:
    return httpx.get(health_url(stack, name) + "/ready", timeout=10).status_code


def process_ids(stack) -> dict[str, str]:
    """Each running process's id, as its own health endpoint states it."""
    return {name: health(stack, name).json()["process"]["id"] for name in PROCESSES}


def acknowledged(db, ids: dict[str, str], version: int) -> bool:
    rows = db.query(
        "SELECT process_id FROM config_acks WHERE version = %s AND error IS NULL "
        "AND process_id = ANY(%s)",
        (version, list(ids.values())),
    )
    return len(rows) == len(ids)


def document(**changes: object) -> dict[str, object]:
    # a flag no other test uses, so that each version put here is told from the others
    return {"features": {f"probe_{secrets.token_hex(4)}": True}, **changes}


def put(admin, doc: dict[str, object]) -> int:
    answer = admin.put("/api/v1/config", json={"document": doc, "reason": "test"})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["version"])


def test_a_change_reaches_every_process_within_2_s_and_each_acknowledges(stack, api, db, slo):
    admin = api.as_role("admin")
    ids = process_ids(stack)
    slo.declare("config.propagation", f"max<{PROPAGATION_SECONDS * 1000:g}")
    doc = document(security_quiet_seconds=30)
    with slo("config.propagation"):
        version = put(admin, doc)
        poll(
            lambda: acknowledged(db, ids, version),
            timeout=PROPAGATION_SECONDS,
            what=f"every process to acknowledge version {version}",
        )
    for name in PROCESSES:
        seen = health(stack, name).json()["configuration"]
        assert seen["applied_version"] == version
        assert seen["drift"] is False
    state = admin.get("/api/v1/config").json()
    assert state["active"]["version"] == version
    assert state["active"]["document"]["features"] == doc["features"]
    assert state["cluster"]["in_sync"] is True


def test_a_rollback_restores_the_previous_version_everywhere(stack, api, db, slo):
    admin = api.as_role("admin")
    ids = process_ids(stack)
    before = document()
    previous = put(admin, before)
    latest = put(admin, document(maintenance=True, maintenance_message="moving data"))
    poll(lambda: acknowledged(db, ids, latest), timeout=10, what="the new version applied")
    slo.declare("config.rollback", f"max<{PROPAGATION_SECONDS * 1000:g}")
    with slo("config.rollback"):
        answer = admin.post("/api/v1/config/rollback", json={})
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == previous
        poll(
            lambda: acknowledged(db, ids, previous),
            timeout=PROPAGATION_SECONDS,
            what=f"every process back on version {previous}",
        )
    active = admin.get("/api/v1/config").json()["active"]
    assert active["action"] == "rollback"
    assert active["document"]["features"] == before["features"]
    assert active["document"]["maintenance"] is False
    for name in PROCESSES:
        assert health(stack, name).json()["configuration"]["applied_version"] == previous


def test_a_document_outside_the_schema_is_refused_and_nothing_changes(api):
    admin = api.as_role("admin")
    active = admin.get("/api/v1/config").json()["active"]["version"]
    for bad in (
        {"maintenence": True},
        {"security_quiet_seconds": 0},
        {"features": {"x": "on"}},
        {"features": {"Not A Name": True}},
        {"maintenance_message": "nul \u0000 inside"},
    ):
        answer = admin.put("/api/v1/config", json={"document": bad})
        assert answer.status_code == 422, (bad, answer.text)
    assert admin.get("/api/v1/config").json()["active"]["version"] == active
    # only admins change it or roll it back
    dispatcher = api.as_role("dispatcher")
    assert dispatcher.put("/api/v1/config", json={"document": {}}).status_code == 403
    assert dispatcher.post("/api/v1/config/rollback", json={}).status_code == 403


def test_a_change_made_while_redis_is_down_is_found_by_the_recheck(stack, api, db, faults):
    admin = api.as_role("admin")
    ids = process_ids(stack)
    faults.process("redis").kill()
    # stored and activated; the announcement is lost with Redis
    version = put(admin, document())
    poll(
        lambda: acknowledged(db, ids, version),
        timeout=10,  # the re-check runs every 3 s in this stack
        what=f"every process to find version {version} without an announcement",
    )


def test_a_version_a_process_cannot_apply_shows_as_drift(stack, api, db, redis):
    admin = api.as_role("admin")
    ids = process_ids(stack)
    good = put(admin, document())
    poll(lambda: acknowledged(db, ids, good), timeout=10, what="the valid version applied")
    # as a newer WMS might have written it: a field this one does not know
    bad = good + 1
    db.query(
        "INSERT INTO config_versions (version, document, author) VALUES (%s, %s, 'test')",
        (bad, json.dumps({"maintenance": "sometimes"})),
    )
    db.query(
        "INSERT INTO config_activations (version, action, author) VALUES (%s, 'put', 'test')",
        (bad,),
    )
    redis.client.publish("wms.config.changed", str(bad))

    def drifting() -> bool:
        seen = [health(stack, name).json()["configuration"] for name in PROCESSES]
        return all(s["drift"] is True and s["applied_version"] == good for s in seen)

    poll(drifting, timeout=10, what="every process to keep its version and report drift")
    errors = db.query(
        "SELECT error FROM config_acks WHERE process_id = ANY(%s)", (list(ids.values()),)
    )
    assert all(f"version {bad} not applied" in row["error"] for row in errors)
    assert admin.post("/api/v1/config/rollback", json={"version": good}).status_code == 200
    poll(lambda: acknowledged(db, ids, good), timeout=10, what="drift gone after the rollback")


@pytest.mark.parametrize("dependency", ["postgres", "redis"])
def test_a_dependency_restart_is_re_readiness_not_a_crash(stack, api, db, faults, dependency):
    pids = {name: stack.processes[name].pid for name in PROCESSES}
    before = {name: health(stack, name).json()["dependencies"][dependency] for name in PROCESSES}
    faults.process(dependency).kill()
    for name in PROCESSES:
        poll(lambda n=name: ready(stack, n) == 503, timeout=10, what=f"{name} to be unready")
    faults.process(dependency).restart()
    for name in PROCESSES:
        poll(lambda n=name: ready(stack, n) == 200, timeout=15, what=f"{name} ready again")
    for name in PROCESSES:
        assert stack.processes[name].pid == pids[name], f"{name} was restarted"
        after = health(stack, name).json()["dependencies"][dependency]
        assert after["losses"] > before[name]["losses"]
        assert after["recoveries"] > before[name]["recoveries"]
    # their loops lived through it: a change still reaches both
    ids = process_ids(stack)
    version = put(api.as_role("admin"), document())
    poll(lambda: acknowledged(db, ids, version), timeout=10, what="the change after the restart")


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_health_endpoint_states_its_dependencies_and_versions(stack, name):
    answer = health(stack, name)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert body["ready"] is True
    assert body["service"] == f"wms-{PROCESSES[name]}"
    assert body["version"] == __version__
    assert body["process"]["pid"] == stack.processes[name].pid
    assert body["process"]["role"] == PROCESSES[name]
    assert set(DECLARED[PROCESSES[name]]) <= set(body["dependencies"])
    for dep in body["dependencies"].values():
        assert dep["status"] == "up"
        assert dep["declared"] is True
        assert dep["latency_ms"] is not None
        assert dep["latency_ms"] >= 0
        assert {"since", "checked_at", "losses", "recoveries", "error"} <= set(dep)
    config = body["configuration"]
    assert isinstance(config["applied_version"], int)
    assert config["active_version"] == config["cluster"]["active_version"]
    assert body["process"]["id"] in {p["process_id"] for p in config["cluster"]["processes"]}
    if name == "app":
        assert set(body["security"]) == {"channel_roles", "pending_events", "redis"}


def test_no_request_fails_on_a_connection_lost_in_a_redis_restart(stack, faults):
    """Every pooled Redis connection dies with Redis; once it is back, the requests that
    meet one of them on their way must still be answered."""

    def failed_logins(count: int) -> list[int]:
        def one(n: int) -> int:
            # each from its own address: the per-client limit stays out of the way
            transport = httpx.HTTPTransport(local_address=f"127.0.3.{n + 10}")
            with httpx.Client(base_url=stack.app_url, timeout=30, transport=transport) as http:
                answer = http.post(
                    "/api/v1/auth/token",
                    json={"email": f"nobody-{secrets.token_hex(4)}@example.com", "password": "x"},
                )
                return answer.status_code

        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(one, range(count)))

    # at once, so that the app's pool holds several connections to Redis
    assert failed_logins(8) == [401] * 8
    faults.process("redis").kill()
    faults.process("redis").restart()
    assert failed_logins(8) == [401] * 8


def test_an_applied_change_takes_effect_in_the_process(stack, api, db):
    """security_quiet_seconds: one kind of refusal from one client is reported once in that
    many seconds. Shortened to 1 s, a client forging tokens is reported again and again."""
    admin = api.as_role("admin")
    ids = process_ids(stack)
    before = admin.get("/api/v1/config").json()["active"]["version"]
    version = put(admin, document(security_quiet_seconds=1))
    poll(lambda: acknowledged(db, ids, version), timeout=10, what="the short window applied")
    address = f"127.0.4.{secrets.randbelow(250) + 2}"
    try:
        with httpx.Client(
            base_url=stack.app_url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
        ) as http:

            def reported_twice() -> bool:
                forged = http.get("/api/v1/plans", headers={"Authorization": "Bearer e30.e30.e30"})
                assert forged.status_code == 401
                reports = db.one(
                    "SELECT count(*) AS n FROM outbox WHERE type = 'security.token_refused' "
                    "AND payload->'data'->>'client' = %s",
                    (address,),
                )
                return reports is not None and reports["n"] >= 2

            # with the default minute this never comes true within the deadline
            poll(reported_twice, timeout=15, what="a second report once the 1 s window ended")
    finally:
        if before:
            back = admin.post("/api/v1/config/rollback", json={"version": before})
            assert back.status_code == 200, back.text
        else:
            put(admin, {})


@pytest.fixture
def second_api(stack, tmp_path):
    """Another API instance of WMS beside the stack's, as a scaled-out deployment runs
    them: the same command and environment on its own port; stopped after the test."""
    app = stack.processes["app"]
    port = free_port()
    command = [str(port) if part == str(app.port) else part for part in app.command]
    instance = ManagedProcess(
        "app-2",
        command,
        log_path=tmp_path / "app-2.log",
        probe=HttpProbe("127.0.0.1", port, "/health/ready"),
        env=app.env,
        cwd=app.cwd,
        ready_timeout=60,
        port=port,
    )
    with instance:
        yield f"http://127.0.0.1:{port}"


def test_every_api_instance_and_the_worker_apply_a_change_and_its_rollback(
    stack, api, db, second_api, slo
):
    admin = api.as_role("admin")
    ids = process_ids(stack)
    ids["app-2"] = httpx.get(f"{second_api}/health", timeout=10).json()["process"]["id"]
    assert len(set(ids.values())) == 3
    previous = put(admin, document())
    poll(lambda: acknowledged(db, ids, previous), timeout=10, what="a first version everywhere")
    slo.declare("config.propagation", f"max<{PROPAGATION_SECONDS * 1000:g}")
    slo.declare("config.rollback", f"max<{PROPAGATION_SECONDS * 1000:g}")
    with slo("config.propagation"):
        latest = put(admin, document())
        poll(
            lambda: acknowledged(db, ids, latest),
            timeout=PROPAGATION_SECONDS,
            what=f"both API instances and the worker on version {latest}",
        )
    with slo("config.rollback"):
        assert admin.post("/api/v1/config/rollback", json={}).status_code == 200
        poll(
            lambda: acknowledged(db, ids, previous),
            timeout=PROPAGATION_SECONDS,
            what=f"both API instances and the worker back on version {previous}",
        )
    seen = httpx.get(f"{second_api}/health", timeout=10).json()["configuration"]
    assert seen["applied_version"] == previous
    assert seen["drift"] is False


def test_a_worker_started_while_postgres_is_down_waits_for_it_and_catches_up(
    stack, api, db, faults, tmp_path
):
    """Start order: a process that comes up before its database starts unready on the
    defaults, becomes ready when the database does, and applies the version in force."""
    worker = stack.processes["worker"]
    port = free_port()
    env = {**worker.env, "WMS_WORKER_HEALTH_PORT": str(port), "WMS_MIGRATE_ON_START": "false"}
    late = ManagedProcess(
        "worker-2",
        worker.command,
        log_path=tmp_path / "worker-2.log",
        probe=HttpProbe("127.0.0.1", port, "/health/ready"),
        env=env,
        cwd=worker.cwd,
        ready_timeout=60,
        port=port,
    )
    version = put(api.as_role("admin"), document())
    # the stack's server commits asynchronously (synchronous_commit = off): a kill right
    # after a commit may take it along, unless its WAL was written out first
    db.query("CHECKPOINT")
    faults.process("postgres").kill()
    late.start()
    try:
        url = f"http://127.0.0.1:{port}/health"

        def unready() -> dict | None:
            try:
                answer = httpx.get(url, timeout=5)
            except httpx.TransportError:
                assert late.running(), late.log_tail()
                return None
            return answer.json() if answer.status_code == 503 else None

        seen = poll(unready, timeout=60, what="the late worker up and unready")
        assert seen["dependencies"]["postgres"]["status"] == "down"
        assert seen["configuration"]["applied_version"] == 0
        faults.process("postgres").restart()
        late.wait_ready()

        def caught_up() -> bool:
            applied = httpx.get(url, timeout=5).json()["configuration"]["applied_version"]
            return applied == version

        poll(caught_up, timeout=15, what=f"the late worker on version {version}")
    finally:
        late.stop()
