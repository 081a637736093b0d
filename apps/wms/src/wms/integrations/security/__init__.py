"""The five threat-intelligence feeds: what each of them knows about an IP address.

VirusTotal through vt-py (async, on the app's event loop), MISP through PyMISP, GreyNoise
through pygreynoise, AlienVault OTX through OTXv2, and AbuseIPDB over plain HTTP (it has
no official SDK). Each adapter turns its feed's answer into evidence with a 0-100 score;
every call goes through the feed's ``ExternalService`` (priority 4: shed first).

Their API keys rotate without a failed lookup: each feed holds a client per usable key
and falls back to the replaced key while the feed does not know the new one yet.

    evidence.py     the evidence models, ``FeedName``, ``IPAddress``
    base.py         ``Feed``, 429s and refusals, the requests plumbing
    rotation.py     ``FeedClients``: a client per key, fallback, closing
    virustotal.py, abuseipdb.py, misp.py, greynoise.py, otx.py: one feed each
"""

from __future__ import annotations

from collections.abc import Mapping

from wms.integrations.keys import KeyRing
from wms.integrations.security.abuseipdb import AbuseIPDB
from wms.integrations.security.base import Feed, FeedRateLimited
from wms.integrations.security.evidence import (
    FEEDS,
    AbuseIPDBEvidence,
    AbuseReport,
    Evidence,
    FeedName,
    GreyNoiseEvidence,
    IPAddress,
    MISPEvent,
    MISPEvidence,
    OTXEvidence,
    VirusTotalEvidence,
)
from wms.integrations.security.greynoise import GreyNoiseFeed
from wms.integrations.security.misp import MISPFeed
from wms.integrations.security.otx import OTXFeed
from wms.integrations.security.virustotal import VirusTotal
from wms.settings import Settings

__all__ = [
    "FEEDS",
    "AbuseIPDB",
    "AbuseIPDBEvidence",
    "AbuseReport",
    "Evidence",
    "Feed",
    "FeedName",
    "FeedRateLimited",
    "GreyNoiseEvidence",
    "GreyNoiseFeed",
    "IPAddress",
    "MISPEvent",
    "MISPEvidence",
    "MISPFeed",
    "OTXEvidence",
    "OTXFeed",
    "VirusTotal",
    "VirusTotalEvidence",
    "build_feeds",
]


def build_feeds(
    settings: Settings, keys: Mapping[str, KeyRing] | None = None
) -> tuple[VirusTotal, AbuseIPDB, MISPFeed, GreyNoiseFeed, OTXFeed]:
    """Every feed's adapter, with the key rings of those whose keys rotate (``key_rings``).

    Call in the app's lifespan, and close with each feed's ``aclose`` on the same loop:
    VirusTotal's clients are made on, and bound to, the loop its lookups run on.
    """
    return (
        VirusTotal(settings, keys),
        AbuseIPDB(settings, keys),
        MISPFeed(settings, keys),
        GreyNoiseFeed(settings, keys),
        OTXFeed(settings, keys),
    )
