"""GreyNoise, through pygreynoise (community API): is an address scanning the internet, or
a known business service? IPv4 only."""

from __future__ import annotations

from collections.abc import Mapping

from greynoise.api import APIConfig, GreyNoise

from wms.integrations.keys import KeyRing
from wms.integrations.security.base import _name, _RequestsFeed, _session
from wms.integrations.security.evidence import Evidence, GreyNoiseEvidence, IPAddress
from wms.settings import Settings

__all__ = ["GreyNoiseFeed"]


class GreyNoiseFeed(_RequestsFeed[GreyNoise]):
    name = "greynoise"

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        super().__init__(settings, settings.greynoise_api_key, keys)
        self._server = settings.greynoise_api_base.rstrip("/")

    def _client(self, key: str) -> GreyNoise:
        client = GreyNoise(
            APIConfig(
                api_key=key,
                api_server=self._server,
                offering="community",
                timeout=self._timeout,
                use_cache=False,  # answers are cached in Redis, for every process at once
                integration_name="wms",
            )
        )
        client.session.close()
        client.session = _session(self._timeout, self._watch)
        return client

    async def _close(self, client: GreyNoise) -> None:
        client.close()

    def supports(self, ip: IPAddress) -> bool:
        return ip.version == 4  # GreyNoise knows IPv4 only

    def _ask(self, client: GreyNoise, ip: IPAddress) -> Evidence:
        data = client.ip(str(ip))
        scanner = data.get("internet_scanner_intelligence") or {}
        business = data.get("business_service_intelligence") or {}
        noise, riot = bool(scanner.get("found")), bool(business.get("found"))
        classification = (scanner.get("classification") if noise else None) or (
            "benign" if riot else None
        )
        return GreyNoiseEvidence(
            # scanning with unknown intent is worth a little; a business service nothing
            score={"malicious": 90, "unknown": 25}.get(classification or "", 0),
            malicious=classification == "malicious",
            found=noise or riot,
            noise=noise,
            riot=riot,
            classification=classification,
            name=business.get("name") or None,
            actor=scanner.get("actor") or None,
            tags=[_name(t) for t in scanner.get("tags") or []],
            last_seen=scanner.get("last_seen") or business.get("last_updated") or None,
        )
