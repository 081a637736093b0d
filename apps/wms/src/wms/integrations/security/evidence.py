"""What a threat feed says about an IP address: one pydantic model per feed, with a score.

Every model carries the feed's own terms (engines, reports, pulses, ...) and the three
fields a verdict is made of: ``score`` (0-100), ``malicious`` and ``found``. ``Evidence``
is their union, told apart by ``feed``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = [
    "FEEDS",
    "AbuseIPDBEvidence",
    "AbuseReport",
    "Evidence",
    "FeedName",
    "GreyNoiseEvidence",
    "IPAddress",
    "MISPEvent",
    "MISPEvidence",
    "OTXEvidence",
    "VirusTotalEvidence",
]

IPAddress = IPv4Address | IPv6Address
FeedName = Literal["virustotal", "abuseipdb", "misp", "greynoise", "otx"]
FEEDS: tuple[FeedName, ...] = ("virustotal", "abuseipdb", "misp", "greynoise", "otx")


class _Evidence(BaseModel):
    #: 0 (nothing against the address) to 100 (certainly malicious), in this feed's view
    score: int = Field(ge=0, le=100)
    #: the feed itself flags the address
    malicious: bool
    #: the feed knows the address at all
    found: bool


class VirusTotalEvidence(_Evidence):
    feed: Literal["virustotal"] = "virustotal"
    malicious_engines: int
    suspicious_engines: int
    engines: int
    reputation: int
    #: engines that call it malicious or suspicious (at most 10)
    flagged_by: list[str]
    as_owner: str | None = None
    country: str | None = None


class AbuseIPDBEvidence(_Evidence):
    feed: Literal["abuseipdb"] = "abuseipdb"
    abuse_confidence_score: int
    total_reports: int
    distinct_reporters: int
    last_reported_at: str | None = None
    is_whitelisted: bool = False
    is_tor: bool = False
    isp: str | None = None
    usage_type: str | None = None
    country_code: str | None = None


class MISPEvent(BaseModel):
    id: str
    info: str


class MISPEvidence(_Evidence):
    feed: Literal["misp"] = "misp"
    attributes: int
    #: attributes marked for detection (to_ids): the analysts' "block this"
    ids_attributes: int
    events: list[MISPEvent]
    tags: list[str]


class GreyNoiseEvidence(_Evidence):
    feed: Literal["greynoise"] = "greynoise"
    #: seen scanning the internet
    noise: bool
    #: a known business service (RIOT), e.g. a public DNS resolver
    riot: bool
    classification: str | None = None
    name: str | None = None
    actor: str | None = None
    tags: list[str] = []
    last_seen: str | None = None


class OTXEvidence(_Evidence):
    feed: Literal["otx"] = "otx"
    pulse_count: int
    #: names of the pulses that list the address (at most 10)
    pulses: list[str]
    tags: list[str]
    malware_families: list[str]


Evidence = Annotated[
    VirusTotalEvidence | AbuseIPDBEvidence | MISPEvidence | GreyNoiseEvidence | OTXEvidence,
    Field(discriminator="feed"),
]


class AbuseReport(BaseModel):
    ip: str
    abuse_confidence_score: int
