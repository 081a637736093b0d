"""AlienVault OTX, through OTXv2: the community pulses that list an address."""

from __future__ import annotations

from collections.abc import Mapping

import IndicatorTypes
from OTXv2 import OTXv2

from wms.integrations.keys import KeyRing
from wms.integrations.security.base import _name, _RequestsFeed, _session
from wms.integrations.security.evidence import Evidence, IPAddress, OTXEvidence
from wms.settings import Settings

__all__ = ["OTXFeed"]


class OTXFeed(_RequestsFeed[OTXv2]):
    name = "otx"

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        super().__init__(settings, settings.otx_api_key, keys)
        self._server = settings.otx_api_base.rstrip("/")

    def _client(self, key: str) -> OTXv2:
        client = OTXv2(key, server=self._server, project="WMS")
        client.request_session = _session(self._timeout, self._watch)
        return client

    async def _close(self, client: OTXv2) -> None:
        client.request_session.close()

    def _ask(self, client: OTXv2, ip: IPAddress) -> Evidence:
        kind = IndicatorTypes.IPv4 if ip.version == 4 else IndicatorTypes.IPv6
        general = client.get_indicator_details_by_section(kind, str(ip), "general")
        pulses = (general.get("pulse_info") or {}).get("pulses") or []
        families = {
            _name(m, "display_name") for p in pulses for m in p.get("malware_families") or []
        }
        return OTXEvidence(
            # each community pulse listing the address adds to the case against it
            score=min(100, 50 + 10 * len(pulses)) if pulses else 0,
            malicious=bool(pulses),
            found=bool(pulses),
            pulse_count=len(pulses),
            pulses=[str(p.get("name", "")) for p in pulses[:10]],
            tags=sorted({str(t) for p in pulses for t in p.get("tags") or []})[:20],
            malware_families=sorted(families),
        )
