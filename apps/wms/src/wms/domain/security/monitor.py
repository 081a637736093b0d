"""Security monitoring: one verdict on an IP address from five threat-intelligence feeds.

Every feed is asked at once; each answer is kept in Redis for the verdict TTL, so a
second lookup asks no feed and one after a partial outage asks only the feeds that were
missing. A feed that is down or out of quota leaves the verdict *degraded*, never an
error: the verdict says which feeds answered. A feed whose quota is spent for a known
time sits out until then (for every API process: the cool-down is in Redis too).

The risk score is the weighted mean of the answering feeds' scores (0-100). The decision:

    block   risk >= 70, or three feeds flag the address
    review  risk >= 30, or one feed flags it, or no feed could answer
    allow   otherwise

A block emits ``security.threat_detected`` on channel "security", once per address per TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import AuditEntry
from wms.domain.schemas import TEXT, Strict, integral
from wms.errors import UpstreamUnavailable, WMSError
from wms.events import emit
from wms.integrations.keys import KeyRing
from wms.integrations.resilience import ExternalService
from wms.integrations.security import (
    AbuseIPDB,
    Evidence,
    Feed,
    FeedName,
    FeedRateLimited,
    IPAddress,
    build_feeds,
)
from wms.settings import Settings

__all__ = [
    "BLOCK_AT",
    "REVIEW_AT",
    "WEIGHTS",
    "FeedResult",
    "IPReportCreate",
    "IPReportOut",
    "IPVerdict",
    "SecurityMonitor",
    "combine",
]

log = logging.getLogger("wms.security")

#: how much each feed's score counts in the risk score
WEIGHTS: dict[FeedName, int] = {
    "virustotal": 25,
    "abuseipdb": 25,
    "misp": 20,
    "greynoise": 15,
    "otx": 15,
}
BLOCK_AT, REVIEW_AT = 70, 30
#: flagged by this many feeds, an address is blocked whatever its score
BLOCK_CONSENSUS = 3
PREFIX = "wms:security:"

FeedStatus = Literal["answered", "unavailable", "rate_limited", "unsupported", "disabled"]
Decision = Literal["block", "review", "allow"]


class FeedResult(BaseModel):
    """What one feed said about the address, or why it said nothing."""

    feed: FeedName
    #: answered; unavailable (down, failing, breaker open); rate_limited (quota spent);
    #: unsupported (it knows no such address); disabled (no API key configured)
    status: FeedStatus
    #: the answer came from the cache, not from the feed just now
    cached: bool = False
    checked_at: datetime | None = None
    error: str | None = None
    retry_after_seconds: float | None = None
    evidence: Evidence | None = None


class IPVerdict(BaseModel):
    ip: str
    decision: Decision
    #: weighted mean of the answering feeds' scores; null when none answered
    risk_score: int | None = Field(ge=0, le=100)
    #: some feed that should have answered did not (down or rate-limited)
    degraded: bool
    answered: list[FeedName]
    #: feeds that flag the address as malicious
    flagged_by: list[FeedName]
    #: no feed was asked: every answer came from the cache
    cached: bool
    checked_at: datetime
    feeds: list[FeedResult]


class IPReportCreate(Strict):
    #: AbuseIPDB category ids, e.g. 18 (brute force), 21 (web app attack)
    categories: list[Annotated[int, Field(ge=1, le=23), BeforeValidator(integral)]] = Field(
        min_length=1, max_length=23
    )
    comment: str = Field(default="", max_length=1024, pattern=TEXT)


class IPReportOut(BaseModel):
    ip: str
    categories: list[int]
    #: AbuseIPDB's confidence of abuse after the report
    abuse_confidence_score: int
    reported_at: datetime


def combine(ip: str, results: Sequence[FeedResult], *, cached: bool, now: datetime) -> IPVerdict:
    """The verdict from the feeds' results (pure: the rules of the module docstring)."""
    answered = [(r.feed, r.evidence) for r in results if r.evidence is not None]
    flagged = [feed for feed, evidence in answered if evidence.malicious]
    degraded = any(r.status in ("unavailable", "rate_limited") for r in results)
    risk: int | None = None
    if answered:
        weight = sum(WEIGHTS[feed] for feed, _ in answered)
        risk = round(sum(WEIGHTS[feed] * e.score for feed, e in answered) / weight)
    decision: Decision
    if risk is None:
        decision = "review" if degraded else "allow"
    elif risk >= BLOCK_AT or len(flagged) >= BLOCK_CONSENSUS:
        decision = "block"
    elif risk >= REVIEW_AT or flagged:
        decision = "review"
    else:
        decision = "allow"
    return IPVerdict(
        ip=ip,
        decision=decision,
        risk_score=risk,
        degraded=degraded,
        answered=[feed for feed, _ in answered],
        flagged_by=flagged,
        cached=cached and bool(answered),
        checked_at=now,
        feeds=list(results),
    )


class SecurityMonitor:
    """IP verdicts from the feeds (cached in Redis), threat events, and abuse reports."""

    def __init__(
        self,
        *,
        feeds: Sequence[Feed[Any]],
        abuseipdb: AbuseIPDB,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        ttl_seconds: float,
    ) -> None:
        self.feeds = tuple(feeds)
        self.abuseipdb = abuseipdb
        self.sessions = sessions
        self.redis = redis
        self.ttl_ms = int(ttl_seconds * 1000)

    @classmethod
    def build(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        keys: Mapping[str, KeyRing] | None = None,
    ) -> SecurityMonitor:
        """Call in the app's lifespan: the VirusTotal clients bind to the running loop.

        ``keys``: the key rings (``key_rings``) of the feeds whose API keys rotate.
        """
        feeds = build_feeds(settings, keys)
        return cls(
            feeds=feeds,
            abuseipdb=feeds[1],
            sessions=sessions,
            redis=redis,
            ttl_seconds=settings.security_verdict_ttl_seconds,
        )

    @property
    def external(self) -> tuple[ExternalService, ...]:
        """The feeds' services, for GET /api/v1/integrations."""
        return tuple(feed.service for feed in self.feeds)

    async def aclose(self) -> None:
        for feed in self.feeds:
            await feed.aclose()

    # -- verdicts --------------------------------------------------------------------------
    async def verdict(self, ip: IPAddress) -> IPVerdict:
        name, now = str(ip), datetime.now(UTC)
        if not ip.is_global:
            reason = "not a public address: threat feeds know only public ones"
            results = [
                FeedResult(feed=f.name, status="unsupported", error=reason) for f in self.feeds
            ]
            return combine(name, results, cached=False, now=now)
        known = await self._cached(name)
        cooling = await self._cooling()
        asked: list[Feed[Any]] = []

        async def result(feed: Feed[Any]) -> FeedResult:
            if not feed.configured:
                return FeedResult(feed=feed.name, status="disabled", error="no API key configured")
            if not feed.supports(ip):
                return FeedResult(
                    feed=feed.name, status="unsupported", error=f"no IPv{ip.version} addresses"
                )
            if feed.name in known:
                return known[feed.name]
            if feed.name in cooling:
                wait = cooling[feed.name]
                return FeedResult(
                    feed=feed.name,
                    status="rate_limited",
                    error=f"quota spent: sitting out for {wait:g} s",
                    retry_after_seconds=wait,
                )
            asked.append(feed)
            return await self._ask(feed, ip, now)

        results = await asyncio.gather(*(result(feed) for feed in self.feeds))
        await self._remember(name, [r for r in results if r.status == "answered" and not r.cached])
        verdict = combine(name, results, cached=not asked, now=now)
        if verdict.decision == "block":
            await self._alert(verdict)
        return verdict

    async def _ask(self, feed: Feed[Any], ip: IPAddress, now: datetime) -> FeedResult:
        try:
            evidence = await feed.lookup(ip)
        except FeedRateLimited as exc:
            if exc.retry_after:
                await self._cool(feed.name, exc.retry_after)
            return FeedResult(
                feed=feed.name,
                status="rate_limited",
                error=str(exc),
                retry_after_seconds=exc.retry_after,
            )
        except WMSError as exc:  # down, failing, breaker open, shed, refused
            return FeedResult(feed=feed.name, status="unavailable", error=exc.message)
        except Exception:
            # one feed's surprise must not cost the verdict the other four
            log.exception("lookup in %s failed", feed.name)
            return FeedResult(feed=feed.name, status="unavailable", error="internal error")
        return FeedResult(feed=feed.name, status="answered", checked_at=now, evidence=evidence)

    # -- Redis: answers, cool-downs, alerts sent --------------------------------------------
    async def _cached(self, ip: str) -> dict[str, FeedResult]:
        names = [feed.name for feed in self.feeds]
        try:
            values = await self.redis.mget([f"{PREFIX}feed:{n}:{ip}" for n in names])
        except RedisError as exc:
            log.warning("verdict cache unreadable, asking every feed: %s", exc)
            return {}
        found: dict[str, FeedResult] = {}
        for feed, value in zip(names, values, strict=True):
            if value is not None:
                cached = FeedResult.model_validate_json(value)
                found[feed] = cached.model_copy(update={"cached": True})
        return found

    async def _remember(self, ip: str, results: Sequence[FeedResult]) -> None:
        if not results:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for r in results:
                    pipe.set(f"{PREFIX}feed:{r.feed}:{ip}", r.model_dump_json(), px=self.ttl_ms)
                await pipe.execute()
        except RedisError as exc:
            log.warning("feed answers not cached: %s", exc)

    async def _forget(self, ip: str, feed: FeedName) -> None:
        try:
            await self.redis.delete(f"{PREFIX}feed:{feed}:{ip}")
        except RedisError as exc:
            log.warning("stale %s answer kept for %s: %s", feed, ip, exc)

    async def _cooling(self) -> dict[str, float]:
        """Feeds sitting out a spent quota, with the seconds left."""
        names = [feed.name for feed in self.feeds]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for n in names:
                    pipe.pttl(f"{PREFIX}cooldown:{n}")
                left = await pipe.execute()
        except RedisError:
            return {}
        return {n: round(ms / 1000, 1) for n, ms in zip(names, left, strict=True) if ms > 0}

    async def _cool(self, feed: str, seconds: float) -> None:
        try:
            await self.redis.set(f"{PREFIX}cooldown:{feed}", 1, px=max(1, int(seconds * 1000)))
        except RedisError as exc:
            log.warning("%s not cooled down: %s", feed, exc)

    async def _alert(self, verdict: IPVerdict) -> None:
        """The threat event, once per address per TTL (at least once: on a failure, again)."""
        key = f"{PREFIX}alerted:{verdict.ip}"
        try:
            first = await self.redis.set(key, 1, nx=True, px=self.ttl_ms)
        except RedisError:
            first = True  # better twice than never
        if not first:
            return
        data = {
            "ip": verdict.ip,
            "decision": verdict.decision,
            "risk_score": verdict.risk_score,
            "flagged_by": verdict.flagged_by,
            "degraded": verdict.degraded,
            "feeds": [
                {"feed": r.feed, "score": r.evidence.score, "malicious": r.evidence.malicious}
                for r in verdict.feeds
                if r.evidence is not None
            ],
        }
        try:
            async with self.sessions() as session, session.begin():
                await emit(session, "security", "security.threat_detected", data)
        except BaseException:
            with contextlib.suppress(RedisError):
                await self.redis.delete(key)
            raise

    # -- reports ---------------------------------------------------------------------------
    async def report(self, ip: IPAddress, body: IPReportCreate, *, actor: str) -> IPReportOut:
        """Report ``ip`` to AbuseIPDB (once: never retried) and record who did."""
        if not self.abuseipdb.configured:
            raise UpstreamUnavailable("abuseipdb", "no API key configured", code="not_configured")
        try:
            answer = await self.abuseipdb.report(
                ip, categories=body.categories, comment=body.comment
            )
        except FeedRateLimited as exc:
            raise UpstreamUnavailable("abuseipdb", str(exc), code="rate_limited") from None
        reported = IPReportOut(
            ip=str(ip),
            categories=body.categories,
            abuse_confidence_score=answer.abuse_confidence_score,
            reported_at=datetime.now(UTC),
        )
        async with self.sessions() as session, session.begin():
            session.add(
                AuditEntry(
                    actor=actor,
                    action="security.ip_reported",
                    details={
                        "ip": reported.ip,
                        "categories": body.categories,
                        "comment": body.comment,
                        "abuse_confidence_score": reported.abuse_confidence_score,
                    },
                )
            )
        await self._forget(str(ip), "abuseipdb")  # its score just changed
        return reported
