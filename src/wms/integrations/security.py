"""The five threat-intelligence feeds: what each of them knows about an IP address.

VirusTotal through vt-py (async, on the app's event loop), MISP through PyMISP, GreyNoise
through pygreynoise, AlienVault OTX through OTXv2, and AbuseIPDB over plain HTTP (it has
no official SDK). Each adapter turns its feed's answer into evidence with a 0-100 score;
every call goes through the feed's ``ExternalService`` (priority 4: shed first).

A 429 whose Retry-After fits within one call's timeout is waited out and retried; a
longer or unknown one means the quota is spent, and the lookup raises ``FeedRateLimited``
at once. The SDKs' own retries are switched off: ExternalService does the retrying, and
urllib3 would sleep through a Retry-After of hours.
"""

from __future__ import annotations

import abc
import email.utils
import threading
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, ClassVar, Literal

import aiohttp
import anyio.from_thread
import httpx
import IndicatorTypes
import requests
import vt
from greynoise.api import APIConfig, GreyNoise
from OTXv2 import OTXv2
from pydantic import BaseModel, Field, SecretStr
from pymisp import PyMISP, PyMISPError
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from wms.integrations import external_service
from wms.integrations.resilience import ExternalService, Permanent, Transient
from wms.settings import Settings

__all__ = [
    "FEEDS",
    "AbuseIPDB",
    "AbuseReport",
    "Evidence",
    "Feed",
    "FeedName",
    "FeedRateLimited",
    "GreyNoiseFeed",
    "IPAddress",
    "MISPFeed",
    "OTXFeed",
    "VirusTotal",
    "build_feeds",
]

IPAddress = IPv4Address | IPv6Address
FeedName = Literal["virustotal", "abuseipdb", "misp", "greynoise", "otx"]
FEEDS: tuple[FeedName, ...] = ("virustotal", "abuseipdb", "misp", "greynoise", "otx")


# -- evidence: what one feed says, in its own terms and as a score ------------------------
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


class FeedRateLimited(Exception):
    """The feed's quota is spent; ``retry_after`` seconds until it serves again, if it said."""

    def __init__(self, feed: str, retry_after: float | None) -> None:
        when = f"for {retry_after:g} s" if retry_after is not None else "for now"
        super().__init__(f"{feed}: quota spent {when}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Throttled:
    """What a call returns for a 429 not worth waiting out: the feed answered, it is healthy."""

    retry_after: float | None


# -- plumbing for the requests-based SDKs ---------------------------------------------------
class _NoRetries(HTTPAdapter):
    """No retries (ExternalService retries) and a timeout on every request (OTXv2 sets none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, timeout or self._timeout, verify, cert, proxies)


class _LastResponse(AuthBase):
    """Remembers each thread's last response: the SDKs raise without its status or headers."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.register_hook("response", self._seen)
        return request

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.response = response

    def forget(self) -> None:
        self._local.response = None

    def get(self) -> requests.Response | None:
        found: requests.Response | None = getattr(self._local, "response", None)
        return found


def _session(timeout: float, watch: _LastResponse) -> requests.Session:
    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, _NoRetries(timeout))
    session.auth = watch
    return session


def _name(item: Any, key: str = "name") -> str:
    """Feeds list tags and families as names or as objects with one."""
    return str(item.get(key, "")) if isinstance(item, dict) else str(item)


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now."""
    if not retry_after:
        return None
    if retry_after.strip().isdigit():
        return float(retry_after)
    try:
        moment = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


# -- the feeds ------------------------------------------------------------------------------
class Feed(abc.ABC):
    """One feed: ``lookup(ip)`` gives its evidence through the feed's ExternalService."""

    name: ClassVar[FeedName]

    def __init__(self, settings: Settings, key: SecretStr) -> None:
        self.service: ExternalService = external_service(self.name, settings)
        self.configured = bool(key.get_secret_value())
        #: the longest Retry-After a lookup waits out
        self._patience = settings.external_timeout_seconds
        self._timeout = settings.external_timeout_seconds

    def supports(self, ip: IPAddress) -> bool:
        return True

    async def lookup(self, ip: IPAddress) -> Evidence:
        result = await self.service.call(lambda: self._fetch(ip))
        if isinstance(result, _Throttled):
            raise FeedRateLimited(self.name, result.retry_after)
        return result

    @abc.abstractmethod
    def _fetch(self, ip: IPAddress) -> Evidence | _Throttled:
        """In a worker thread: one call to the feed."""

    def _refused(
        self, status: int, retry_after: str | None, *, client_error: str | None = None
    ) -> _Throttled:
        """A non-2xx answer: a spent quota is returned, anything else raised for ExternalService."""
        if status == 429:
            wait = _seconds(retry_after)
            if wait is not None and wait <= self._patience:
                raise Transient("rate limited", retry_after=wait)
            return _Throttled(wait)
        if status >= 500 or status == 408:
            raise Transient(f"HTTP {status}")
        raise Permanent(f"refused with HTTP {status}", client_error=client_error)

    async def aclose(self) -> None:
        return None


class VirusTotal(Feed):
    name = "virustotal"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.virustotal_api_key)
        # vt-py binds its connections to the loop it is made on: made here, in the app's
        # lifespan, it belongs to the app's loop, and every call runs there (see _fetch)
        self._client = (
            vt.Client(
                settings.virustotal_api_key.get_secret_value(),
                agent="wms",
                host=settings.virustotal_api_base.rstrip("/"),
                timeout=settings.external_timeout_seconds,
            )
            if self.configured
            else None
        )

    def _fetch(self, ip: IPAddress) -> Evidence | _Throttled:
        result: Evidence | _Throttled = anyio.from_thread.run(self._get, str(ip))
        return result

    async def _get(self, ip: str) -> Evidence | _Throttled:
        assert self._client is not None
        try:
            response = await self._client.get_async("/ip_addresses/{}", ip)
            error = await self._client.get_error_async(response)
            payload: Any = {} if error else await response.json_async()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Transient(f"no usable answer ({type(exc).__name__})") from None
        if error is None:
            try:
                return _virustotal(payload["data"]["attributes"])
            except (KeyError, TypeError, AttributeError):
                raise Transient("unexpected answer") from None
        if error.code == "NotFoundError":
            return VirusTotalEvidence(
                score=0,
                malicious=False,
                found=False,
                malicious_engines=0,
                suspicious_engines=0,
                engines=0,
                reputation=0,
                flagged_by=[],
            )
        return self._refused(response.status, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close_async()


def _virustotal(attributes: dict[str, Any]) -> VirusTotalEvidence:
    stats = attributes.get("last_analysis_stats") or {}
    bad, odd = int(stats.get("malicious", 0)), int(stats.get("suspicious", 0))
    engines = sum(int(v) for v in stats.values())
    results = attributes.get("last_analysis_results") or {}
    flagged = sorted(
        name for name, r in results.items() if r.get("category") in ("malicious", "suspicious")
    )
    return VirusTotalEvidence(
        # suspicious engines count half; three malicious engines are VirusTotal's usual bar
        score=min(100, round(100 * (bad + odd / 2) / engines)) if engines else 0,
        malicious=bad >= 3,
        found=True,
        malicious_engines=bad,
        suspicious_engines=odd,
        engines=engines,
        reputation=int(attributes.get("reputation", 0)),
        flagged_by=flagged[:10],
        as_owner=attributes.get("as_owner"),
        country=attributes.get("country"),
    )


class AbuseIPDB(Feed):
    name = "abuseipdb"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.abuseipdb_api_key)
        self._http = httpx.Client(
            base_url=settings.abuseipdb_api_base.rstrip("/") + "/api/v2",
            headers={
                "Key": settings.abuseipdb_api_key.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=settings.external_timeout_seconds,
        )

    def _send(
        self, method: str, path: str, *, client_error: str | None = None, **kwargs: Any
    ) -> dict[str, Any] | _Throttled:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Transient(f"no answer ({type(exc).__name__})") from None
        if not response.is_success:
            return self._refused(
                response.status_code, response.headers.get("Retry-After"), client_error=client_error
            )
        try:
            data: dict[str, Any] = response.json()["data"]
        except (ValueError, KeyError, TypeError):
            raise Transient("unexpected answer") from None
        return data

    def _fetch(self, ip: IPAddress) -> Evidence | _Throttled:
        data = self._send("GET", "/check", params={"ipAddress": str(ip), "maxAgeInDays": 90})
        if isinstance(data, _Throttled):
            return data
        score = int(data.get("abuseConfidenceScore") or 0)
        reports = int(data.get("totalReports") or 0)
        return AbuseIPDBEvidence(
            score=score,
            # AbuseIPDB's own advice: block from a confidence of 75 up
            malicious=score >= 75,
            found=reports > 0,
            abuse_confidence_score=score,
            total_reports=reports,
            distinct_reporters=int(data.get("numDistinctUsers") or 0),
            last_reported_at=data.get("lastReportedAt"),
            is_whitelisted=bool(data.get("isWhitelisted")),
            is_tor=bool(data.get("isTor")),
            isp=data.get("isp"),
            usage_type=data.get("usageType"),
            country_code=data.get("countryCode"),
        )

    async def report(self, ip: IPAddress, *, categories: list[int], comment: str) -> AbuseReport:
        """Report abuse from ``ip``. A POST without idempotency key: never retried."""
        form = {"ip": str(ip), "categories": ",".join(map(str, categories)), "comment": comment}

        def send() -> dict[str, Any] | _Throttled:
            # AbuseIPDB refusing the report (a category, the address) is our caller's error
            return self._send("POST", "/report", data=form, client_error="report_refused")

        data = await self.service.call(send, idempotent=False)
        if isinstance(data, _Throttled):
            raise FeedRateLimited(self.name, data.retry_after)
        return AbuseReport(
            ip=str(data.get("ipAddress", ip)),
            abuse_confidence_score=int(data.get("abuseConfidenceScore") or 0),
        )

    async def aclose(self) -> None:
        self._http.close()


class _RequestsFeed(Feed):
    """A feed whose SDK speaks through requests: failures are read from the last response."""

    def __init__(self, settings: Settings, key: SecretStr) -> None:
        super().__init__(settings, key)
        self._watch = _LastResponse()

    def _fetch(self, ip: IPAddress) -> Evidence | _Throttled:
        self._watch.forget()
        try:
            return self._ask(ip)
        except requests.RequestException as exc:
            raise Transient(f"no answer ({type(exc).__name__})") from None
        except Exception as exc:
            # the SDKs raise bare or SDK-specific exceptions, without the status: ask the wire
            response = self._watch.get()
            if response is None or response.status_code < 400:
                raise Transient(f"no usable answer ({type(exc).__name__})") from None
            return self._refused(response.status_code, response.headers.get("Retry-After"))

    @abc.abstractmethod
    def _ask(self, ip: IPAddress) -> Evidence:
        """One lookup of ``ip``."""


class MISPFeed(_RequestsFeed):
    name = "misp"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.misp_api_key)
        self._url = settings.misp_api_base.rstrip("/") + "/"  # PyMISP urljoins paths onto it
        self._key = settings.misp_api_key
        self._verify = settings.misp_verify_ssl
        self._client: PyMISP | None = None
        self._lock = threading.Lock()

    def _misp(self) -> PyMISP:
        """PyMISP asks the server who we are when it is made: made on first use, not at start."""
        with self._lock:
            if self._client is None:
                self._client = PyMISP(
                    self._url,
                    self._key.get_secret_value(),
                    ssl=self._verify,
                    timeout=self._timeout,
                    tool="wms",
                    auth=self._watch,
                )
            return self._client

    def _ask(self, ip: IPAddress) -> Evidence:
        answer = self._misp().search(controller="attributes", value=str(ip))
        if not isinstance(answer, dict) or "errors" in answer:
            raise PyMISPError("search refused")  # a 4xx: _fetch reads it from the response
        found = [a for a in answer.get("Attribute", []) if a.get("value") == str(ip)]
        ids = [a for a in found if a.get("to_ids")]
        events = {str(a["Event"]["id"]): str(a["Event"].get("info", "")) for a in found}
        tags = sorted({str(t["name"]) for a in found for t in a.get("Tag", [])})
        return MISPEvidence(
            # an indicator marked for detection is our analysts' call to block it
            score=90 if ids else 40 if found else 0,
            malicious=bool(ids),
            found=bool(found),
            attributes=len(found),
            ids_attributes=len(ids),
            events=[MISPEvent(id=k, info=v) for k, v in sorted(events.items())],
            tags=tags,
        )


class GreyNoiseFeed(_RequestsFeed):
    name = "greynoise"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.greynoise_api_key)
        self._client = GreyNoise(
            APIConfig(
                api_key=settings.greynoise_api_key.get_secret_value(),
                api_server=settings.greynoise_api_base.rstrip("/"),
                offering="community",
                timeout=settings.external_timeout_seconds,
                use_cache=False,  # answers are cached in Redis, for every process at once
                integration_name="wms",
            )
        )
        self._client.session.close()
        self._client.session = _session(self._timeout, self._watch)

    def supports(self, ip: IPAddress) -> bool:
        return ip.version == 4  # GreyNoise knows IPv4 only

    def _ask(self, ip: IPAddress) -> Evidence:
        data = self._client.ip(str(ip))
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

    async def aclose(self) -> None:
        self._client.close()


class OTXFeed(_RequestsFeed):
    name = "otx"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.otx_api_key)
        self._client = OTXv2(
            settings.otx_api_key.get_secret_value(),
            server=settings.otx_api_base.rstrip("/"),
            project="WMS",
        )
        self._client.request_session = _session(self._timeout, self._watch)

    def _ask(self, ip: IPAddress) -> Evidence:
        kind = IndicatorTypes.IPv4 if ip.version == 4 else IndicatorTypes.IPv6
        general = self._client.get_indicator_details_by_section(kind, str(ip), "general")
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

    async def aclose(self) -> None:
        self._client.request_session.close()


def build_feeds(
    settings: Settings,
) -> tuple[VirusTotal, AbuseIPDB, MISPFeed, GreyNoiseFeed, OTXFeed]:
    """Every feed's adapter; call in the app's lifespan (vt-py binds to the running loop)."""
    return (
        VirusTotal(settings),
        AbuseIPDB(settings),
        MISPFeed(settings),
        GreyNoiseFeed(settings),
        OTXFeed(settings),
    )
