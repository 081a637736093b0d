"""Rotating the API keys of the five threat feeds: no lookup loses a feed while the feed
does not know the new key yet, and a revoked key is never used again."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.external

#: a fresh key in the format each feed's simulator accepts
NEW_KEY = {
    "virustotal": lambda: secrets.token_hex(32),  # 64 hex
    "abuseipdb": lambda: secrets.token_hex(40),  # 80 hex
    "misp": lambda: "Rotated" + secrets.token_hex(16) + "x",  # 40 alphanumerics
    "greynoise": lambda: "rotated-greynoise-" + secrets.token_hex(8),
    "otx": lambda: secrets.token_hex(32),  # 64 hex
}
FEEDS = tuple(NEW_KEY)
#: how each feed refuses a key it does not know
REFUSED = {401, 403}


def fresh_ip() -> str:
    """A public IPv4 address no other lookup used, so no verdict comes from the cache."""
    bits = uuid.uuid4().int
    return f"45.{bits >> 16 & 255}.{bits >> 8 & 255}.{(bits & 253) + 1}"


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class Rotation:
    """One feed's keys, on WMS's side (the admin API) and the provider's (the simulator)."""

    def __init__(self, api: Any, sim: Any, name: str, configured: str) -> None:
        self.admin = api.as_role("admin")
        self.sim = sim
        self.name = name
        self.old = configured
        self.new = NEW_KEY[name]()
        self.new_id: str | None = None

    def provider_knows(self, *keys: str) -> None:
        self.sim.seed({"api_keys": list(keys)})

    def add_new_key(self) -> None:
        added = self.admin.post(f"/api/v1/integrations/{self.name}/keys", json={"secret": self.new})
        assert added.status_code == 201, added.text
        self.new_id = added.json()["id"]

    def usable(self) -> list[dict[str, Any]]:
        listed = self.admin.get(f"/api/v1/integrations/{self.name}/keys")
        assert listed.status_code == 200, listed.text
        return [k for k in listed.json() if k["revoked_at"] is None]

    def revoke(self, key_id: str) -> None:
        revoked = self.admin.delete(f"/api/v1/integrations/{self.name}/keys/{key_id}")
        assert revoked.status_code == 204, revoked.text

    def revoke_old_keys(self) -> None:
        old = [k["id"] for k in self.usable() if k["id"] != self.new_id]
        assert old, "no old key to revoke"
        for key_id in old:
            self.revoke(key_id)

    def lookup(self) -> dict[str, Any]:
        """This feed's result for a lookup of an address no one asked about before, and
        the statuses the feed answered with meanwhile."""
        mark = max((e["seq"] for e in self.sim.journal()), default=0)
        response = self.admin.get(f"/api/v1/security/ips/{fresh_ip()}")
        assert response.status_code == 200, response.text
        result = next(f for f in response.json()["feeds"] if f["feed"] == self.name)
        result["statuses"] = [e["status"] for e in self.sim.journal() if e["seq"] > mark]
        return result

    def restore(self) -> None:
        """The configured key alone, on both sides, as the rest of the session expects."""
        if self.new_id is not None:
            self.revoke(self.new_id)
        if not any(k["fingerprint"] == fingerprint(self.old) for k in self.usable()):
            re_added = self.admin.post(
                f"/api/v1/integrations/{self.name}/keys", json={"secret": self.old}
            )
            assert re_added.status_code == 201, re_added.text
        self.provider_knows(self.old)


@pytest.fixture(autouse=True)
def generous_quotas(sims):
    """VirusTotal allows 4 calls a minute and GreyNoise 50 a day; restored afterwards."""
    virustotal, greynoise = sims["virustotal"].state(), sims["greynoise"].state()
    sims["virustotal"].seed({"quota": {"per_minute": None}})
    sims["greynoise"].seed({"daily_limit": 0})
    yield
    sims["virustotal"].seed({"quota": virustotal["quota"]})
    sims["greynoise"].seed({"daily_limit": greynoise["daily_limit"]})


@pytest.fixture(params=FEEDS)
def rotation(request, api, sims, interlock_config) -> Iterator[Rotation]:
    name = request.param
    configured = interlock_config.app.env[f"WMS_{name.upper()}_API_KEY"]
    rotation = Rotation(api, sims[name], name, configured)
    try:
        yield rotation
    finally:
        rotation.restore()


def test_a_new_key_the_feed_does_not_know_yet_falls_back_to_the_old_one(rotation):
    rotation.provider_knows(rotation.old)
    rotation.add_new_key()

    result = rotation.lookup()

    assert result["status"] == "answered", result
    assert result["evidence"]["feed"] == rotation.name
    # the new key was tried first, refused, and the old one carried the lookup
    assert REFUSED & set(result["statuses"]), result["statuses"]
    assert result["statuses"][-1] not in REFUSED, result["statuses"]  # 404: not observed


def test_a_new_key_the_feed_knows_is_used_first(rotation):
    rotation.provider_knows(rotation.new)
    rotation.add_new_key()

    result = rotation.lookup()

    assert result["status"] == "answered", result
    assert result["evidence"]["feed"] == rotation.name
    # the old key, which the feed no longer knows, was never tried
    assert not REFUSED & set(result["statuses"]), result["statuses"]


def test_a_revoked_key_is_no_longer_used(rotation):
    rotation.provider_knows(rotation.old)
    rotation.add_new_key()
    assert rotation.lookup()["status"] == "answered"  # the old key still carries lookups

    rotation.revoke_old_keys()
    result = rotation.lookup()

    # only the new key is left, and the feed refuses it: the feed sits this verdict out
    assert result["status"] == "unavailable", result
    assert result["evidence"] is None
    assert result["statuses"], "the feed was not asked"
    assert set(result["statuses"]) <= REFUSED, result["statuses"]
