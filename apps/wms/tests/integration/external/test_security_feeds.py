"""Security monitoring: IP verdicts from the five threat feeds, their cache, their outages,
threat events on the admins' WebSocket, and abuse reports to AbuseIPDB."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.external

FEEDS = ("virustotal", "abuseipdb", "misp", "greynoise", "otx")
EVENT = "Log4Shell scanners"


def fresh_ip() -> str:
    """A public IPv4 address no other test uses (GreyNoise's SDK takes public IPv4 only)."""
    bits = uuid.uuid4().int
    return f"45.{bits >> 16 & 255}.{bits >> 8 & 255}.{(bits & 253) + 1}"


def seed_malicious(sims, ip: str) -> None:
    bad = {"malicious": True, "score": 95}
    sims["virustotal"].seed({"ips": {ip: bad}})
    sims["abuseipdb"].seed({"ips": {ip: bad}})
    sims["misp"].seed({"ips": {ip: {**bad, "event": EVENT}}})
    sims["greynoise"].seed({"ips": {ip: {**bad, "tags": ["Log4j scanner"]}}})
    sims["otx"].seed({"ips": {ip: {**bad, "pulses": [{"name": EVENT, "tags": ["log4j"]}]}}})


def calls(sims, ip: str) -> dict[str, int]:
    """Calls each feed has received about ``ip`` (in its path, query or body)."""
    return {
        name: sum(
            ip in e["path"] or ip in json.dumps(e["query"]) or ip in e["body"]
            for e in sims[name].journal()
        )
        for name in FEEDS
    }


def lookup(api, ip: str):
    return api.as_role("admin").get(f"/api/v1/security/ips/{ip}")


def feed(verdict: dict, name: str) -> dict:
    return next(f for f in verdict["feeds"] if f["feed"] == name)


@pytest.fixture(autouse=True)
def generous_quotas(sims):
    """VirusTotal allows 4 calls a minute and GreyNoise 50 a day: more than these tests make
    in total, but not more than a whole session makes. Restored afterwards."""
    sims["virustotal"].seed({"quota": {"per_minute": None}})
    sims["greynoise"].seed({"daily_limit": 0})
    yield
    sims["virustotal"].seed({"quota": {"per_minute": 4}})
    sims["greynoise"].seed({"daily_limit": 50})


def test_malicious_ip_is_blocked_with_every_feeds_evidence_and_admins_hear_of_it(
    api, sims, ws, slo
):
    ip = fresh_ip()
    seed_malicious(sims, ip)
    admin = api.as_role("admin")
    dashboard = ws.connect("/ws", token=admin.headers["Authorization"].removeprefix("Bearer "))
    dashboard.send_json({"action": "subscribe", "channels": ["security"]})
    dashboard.wait_for(lambda f: f["type"] == "subscribed", what="the subscription")

    with slo("ip_reputation"):
        response = lookup(api, ip)

    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["decision"] == "block"
    assert verdict["risk_score"] >= 70
    assert verdict["degraded"] is False
    assert sorted(verdict["answered"]) == sorted(FEEDS)
    assert sorted(verdict["flagged_by"]) == sorted(FEEDS)
    evidence = {f["feed"]: f["evidence"] for f in verdict["feeds"]}
    assert evidence["virustotal"]["malicious_engines"] >= 3
    assert evidence["abuseipdb"]["abuse_confidence_score"] == 95
    assert [e["info"] for e in evidence["misp"]["events"]] == [EVENT]
    assert evidence["misp"]["ids_attributes"] == 1
    assert evidence["greynoise"]["classification"] == "malicious"
    assert evidence["greynoise"]["tags"] == ["Log4j scanner"]
    assert evidence["otx"]["pulses"] == [EVENT]

    frame = dashboard.wait_for(
        lambda f: (
            f["type"] == "event"
            and f["event"]["type"] == "security.threat_detected"
            and f["event"]["data"]["ip"] == ip
        ),
        what="the threat event on the admin's dashboard",
    )
    assert frame["channel"] == "security"
    threat = frame["event"]["data"]
    assert threat["risk_score"] == verdict["risk_score"]
    assert sorted(threat["flagged_by"]) == sorted(FEEDS)
    assert {f["feed"]: f["score"] for f in threat["feeds"]} == {
        name: evidence[name]["score"] for name in FEEDS
    }


def test_unseeded_ip_is_allowed(api, slo):
    with slo("ip_reputation"):
        response = lookup(api, fresh_ip())

    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["decision"] == "allow"
    assert verdict["risk_score"] < 30
    assert verdict["flagged_by"] == []
    assert verdict["degraded"] is False
    assert sorted(verdict["answered"]) == sorted(FEEDS)


def test_second_lookup_is_served_from_the_cache(api, sims, slo):
    ip = fresh_ip()
    seed_malicious(sims, ip)
    first = lookup(api, ip).json()
    assert first["cached"] is False
    asked = calls(sims, ip)
    assert all(asked[name] >= 1 for name in FEEDS), asked

    with slo("ip_reputation"):
        response = lookup(api, ip)

    second = response.json()
    assert second["cached"] is True
    assert all(f["cached"] for f in second["feeds"])
    assert (second["decision"], second["risk_score"]) == (first["decision"], first["risk_score"])
    assert calls(sims, ip) == asked  # no feed heard of the address again


def test_a_failing_feed_leaves_a_degraded_verdict_from_the_others(api, sims, slo):
    ip = fresh_ip()
    seed_malicious(sims, ip)
    with sims["virustotal"].failing(status=503), slo("ip_reputation"):
        response = lookup(api, ip)

    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["degraded"] is True
    assert feed(verdict, "virustotal")["status"] == "unavailable"
    assert sorted(verdict["answered"]) == sorted(set(FEEDS) - {"virustotal"})
    assert verdict["decision"] == "block"  # four feeds are evidence enough

    # VirusTotal is back: the next lookup asks it, and only it
    before = calls(sims, ip)
    again = lookup(api, ip).json()
    assert again["degraded"] is False
    assert sorted(again["answered"]) == sorted(FEEDS)
    after = calls(sims, ip)
    assert {name for name in FEEDS if after[name] != before[name]} == {"virustotal"}


def test_a_feed_out_of_quota_sits_out_and_the_verdict_is_degraded(api, sims, redis, slo):
    first_ip, second_ip = fresh_ip(), fresh_ip()
    sims["greynoise"].add_fault("rate_limit", retry_after=30, times=1)
    try:
        with slo("ip_reputation"):
            response = lookup(api, first_ip)
        assert response.status_code == 200, response.text
        verdict = response.json()
        greynoise = feed(verdict, "greynoise")
        assert greynoise["status"] == "rate_limited"
        assert greynoise["retry_after_seconds"] == 30
        assert verdict["degraded"] is True
        assert sorted(verdict["answered"]) == sorted(set(FEEDS) - {"greynoise"})
        assert calls(sims, first_ip)["greynoise"] == 1  # told to wait 30 s: not retried

        # the quota is spent for 30 s: until then GreyNoise is not even asked
        verdict = lookup(api, second_ip).json()
        assert feed(verdict, "greynoise")["status"] == "rate_limited"
        assert calls(sims, second_ip)["greynoise"] == 0
    finally:
        redis.client.delete("wms:security:cooldown:greynoise")


def test_a_short_retry_after_is_waited_out(api, sims):
    ip = fresh_ip()
    path = f"/api/v3/ip_addresses/{ip}"
    sims["virustotal"].add_fault("rate_limit", retry_after=1, times=1, path=f"^{path}$")

    verdict = lookup(api, ip).json()

    assert feed(verdict, "virustotal")["status"] == "answered"
    assert verdict["degraded"] is False
    tries = sims["virustotal"].journal(path=path)
    assert [t["status"] for t in tries] == [429, 200]
    assert tries[1]["time"] - tries[0]["time"] >= 1.0


@pytest.mark.parametrize("bad", ["not-an-ip", "999.1.2.3", "45.83.64", "45.83.64.1.7", "::g"])
def test_malformed_ip_gives_422(api, bad):
    response = lookup(api, bad)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_a_private_address_is_answered_without_asking_the_feeds(api, sims):
    ip = "10.20.30.40"
    response = lookup(api, ip)
    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["decision"] == "allow"
    assert {f["status"] for f in verdict["feeds"]} == {"unsupported"}
    assert set(calls(sims, ip).values()) == {0}


def test_only_admins_look_up_and_report(api, sims):
    ip = fresh_ip()
    dispatcher = api.as_role("dispatcher")
    assert dispatcher.get(f"/api/v1/security/ips/{ip}").status_code == 403
    report = {"categories": [18]}
    assert dispatcher.post(f"/api/v1/security/ips/{ip}/report", json=report).status_code == 403
    assert api.get(f"/api/v1/security/ips/{ip}").status_code == 401
    assert set(calls(sims, ip).values()) == {0}


def test_reporting_an_ip_reaches_abuseipdb_once_and_is_audited(api, sims, db):
    ip = fresh_ip()
    admin = api.as_role("admin")
    assert feed(lookup(api, ip).json(), "abuseipdb")["evidence"]["abuse_confidence_score"] == 0

    response = admin.post(
        f"/api/v1/security/ips/{ip}/report",
        json={"categories": [18, 22], "comment": "SSH brute force on the depot gateway"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["abuse_confidence_score"] == 15  # one report's weight
    sent = [e for e in sims["abuseipdb"].journal(path="/api/v2/report") if ip in e["body"]]
    assert len(sent) == 1
    row = db.wait_for_row(
        "SELECT actor, details FROM audit_log "
        "WHERE action = 'security.ip_reported' AND details->>'ip' = %s",
        (ip,),
        what="the report in the audit log",
    )
    assert row["actor"] == "admin@example.com"
    assert row["details"]["categories"] == [18, 22]
    # AbuseIPDB's cached answer is stale now: the next verdict asks it again, and only it
    verdict = lookup(api, ip).json()
    abuse = feed(verdict, "abuseipdb")
    assert (abuse["cached"], abuse["evidence"]["abuse_confidence_score"]) == (False, 15)
    assert all(f["cached"] for f in verdict["feeds"] if f["feed"] != "abuseipdb")


def test_reporting_an_address_again_within_15_minutes_is_a_conflict_not_an_outage(api, sims):
    """AbuseIPDB takes one report of an address per user per 15 minutes and answers a
    second with 429; that is a conflict with what the caller asked, never a 503."""
    ip = fresh_ip()
    admin = api.as_role("admin")
    body = {"categories": [18], "comment": "port scan"}
    assert admin.post(f"/api/v1/security/ips/{ip}/report", json=body).status_code == 201
    again = admin.post(f"/api/v1/security/ips/{ip}/report", json=body)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "already_reported"
    # the feed stays healthy: the next report of another address goes through
    assert admin.post(f"/api/v1/security/ips/{fresh_ip()}/report", json=body).status_code == 201


def test_a_comment_the_audit_log_cannot_hold_is_refused_before_anything_is_reported(api, sims):
    ip = fresh_ip()
    response = api.as_role("admin").post(
        f"/api/v1/security/ips/{ip}/report", json={"categories": [18], "comment": "nul\u0000here"}
    )
    assert response.status_code == 422, response.text
    assert [e for e in sims["abuseipdb"].journal(path="/api/v2/report") if ip in e["body"]] == []


def test_a_failed_report_is_not_retried(api, sims, db):
    ip = fresh_ip()
    with sims["abuseipdb"].failing(status=503, path="^/api/v2/report$"):
        response = api.as_role("admin").post(
            f"/api/v1/security/ips/{ip}/report", json={"categories": [14]}
        )

    assert response.status_code == 503, response.text
    sent = [e for e in sims["abuseipdb"].journal(path="/api/v2/report") if ip in e["body"]]
    assert len(sent) == 1  # a retry could have reported the address twice
    where = "action = 'security.ip_reported' AND details->>'ip' = %s"
    assert db.count("audit_log", where, (ip,)) == 0


def test_feeds_refusing_our_keys_leak_no_key_and_cause_no_error(api, sims, stack, interlock_config):
    keys = [interlock_config.app.env[f"WMS_{name.upper()}_API_KEY"] for name in FEEDS]
    ip = fresh_ip()
    with (
        sims["virustotal"].failing(status=401),
        sims["abuseipdb"].failing(status=401),
        sims["misp"].failing(status=403),
        sims["greynoise"].failing(status=401),
        sims["otx"].failing(status=403),
    ):
        response = lookup(api, ip)

    assert response.status_code == 200, response.text
    verdict = response.json()
    assert {f["status"] for f in verdict["feeds"]} == {"unavailable"}
    assert (verdict["decision"], verdict["answered"]) == ("review", [])
    texts = [response.text] + [
        log.read_text(errors="replace") for log in stack.log_dir.glob("*.log")
    ]
    assert [key[:6] for key in keys if any(key in text for text in texts)] == []
