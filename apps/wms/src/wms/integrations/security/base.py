"""What every feed shares: the ``Feed`` base, reading 429s and refusals, and transport.

A 429 whose Retry-After fits within one call's timeout is waited out and retried; a
longer or unknown one means the quota is spent, and the lookup raises ``FeedRateLimited``
at once. The SDKs' own retries are switched off: ExternalService does the retrying, and
urllib3 would sleep through a Retry-After of hours.

Each feed keeps one SDK client per usable API key (``FeedClients``): a lookup tries the
newest key and, when the feed refuses it as unknown (``bad_key``: 401 or 403, nothing
done), the key it replaces. The SDKs raise without the answer's status, so every
attempt turns a non-2xx answer into ``_Refusal`` first; ``Feed._refused`` then makes the
usual ``Transient``/``Permanent``/``_Throttled`` of the last one.
"""

from __future__ import annotations

import abc
import email.utils
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from wms.integrations import external_service
from wms.integrations.keys import KeyRing
from wms.integrations.resilience import ExternalService, Permanent, Transient
from wms.integrations.security.evidence import Evidence, FeedName, IPAddress
from wms.integrations.security.rotation import FeedClients
from wms.settings import Settings

__all__ = ["Feed", "FeedRateLimited"]

C = TypeVar("C")


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


class _Refusal(Exception):
    """A non-2xx answer to one attempt (one key), with what the SDK hid of it."""

    def __init__(self, status: int, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


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
    """Remembers each thread's last response: the SDKs raise without its status or headers.

    One per feed, shared by the clients of all its keys: an attempt runs in one thread,
    and forgets the previous attempt's response before it starts.
    """

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


def _session(timeout: float, watch: _LastResponse | None = None) -> requests.Session:
    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, _NoRetries(timeout))
    if watch is not None:
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
class Feed(abc.ABC, Generic[C]):
    """One feed: ``lookup(ip)`` gives its evidence through the feed's ExternalService.

    ``C`` is the feed's SDK client; ``clients`` holds one per usable API key.
    """

    name: ClassVar[FeedName]
    #: the statuses with which the feed refuses a key it does not know (nothing done)
    bad_key: ClassVar[frozenset[int]] = frozenset({401, 403})

    def __init__(
        self, settings: Settings, key: SecretStr, keys: Mapping[str, KeyRing] | None = None
    ) -> None:
        self.service: ExternalService = external_service(self.name, settings)
        self.clients: FeedClients[C] = FeedClients(
            self.name,
            self._client,
            close=self._close,
            refused=self._key_refused,
            rings=keys,
            default=key.get_secret_value(),
        )
        self.configured = self.clients.configured
        #: the longest Retry-After a lookup waits out
        self._patience = self.service.policy.timeout
        self._timeout = self.service.policy.timeout

    def supports(self, ip: IPAddress) -> bool:
        return True

    async def lookup(self, ip: IPAddress) -> Evidence:
        keys = await self.clients.keys()
        result = await self.service.call(lambda: self._fetch(keys, ip))
        if isinstance(result, _Throttled):
            raise FeedRateLimited(self.name, result.retry_after)
        return result

    @abc.abstractmethod
    def _client(self, key: str) -> C:
        """A client using ``key`` (cheap: it must not call the feed)."""

    @abc.abstractmethod
    async def _close(self, client: C) -> None:
        """Release what ``client`` holds (on the event loop)."""

    @abc.abstractmethod
    def _fetch(self, keys: Sequence[str], ip: IPAddress) -> Evidence | _Throttled:
        """In a worker thread: one call to the feed, newest key first."""

    def _key_refused(self, exc: Exception) -> bool:
        """The feed refused the key of that attempt as unknown: worth trying the next."""
        return isinstance(exc, _Refusal) and exc.status in self.bad_key

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
        await self.clients.aclose()


class _RequestsFeed(Feed[C]):
    """A feed whose SDK speaks through requests: failures are read from the last response."""

    def __init__(
        self, settings: Settings, key: SecretStr, keys: Mapping[str, KeyRing] | None = None
    ) -> None:
        self._watch = _LastResponse()
        super().__init__(settings, key, keys)

    def _fetch(self, keys: Sequence[str], ip: IPAddress) -> Evidence | _Throttled:
        try:
            return self.clients.run(keys, lambda client: self._attempt(client, ip))
        except _Refusal as exc:
            return self._refused(exc.status, exc.retry_after)

    def _attempt(self, client: C, ip: IPAddress) -> Evidence:
        self._watch.forget()
        try:
            return self._ask(client, ip)
        except requests.RequestException as exc:
            raise Transient(f"no answer ({type(exc).__name__})") from None
        except Exception as exc:
            # the SDKs raise bare or SDK-specific exceptions, without the status: ask the wire
            response = self._watch.get()
            if response is None or response.status_code < 400:
                raise Transient(f"no usable answer ({type(exc).__name__})") from None
            raise _Refusal(response.status_code, response.headers.get("Retry-After")) from None

    @abc.abstractmethod
    def _ask(self, client: C, ip: IPAddress) -> Evidence:
        """One lookup of ``ip`` with ``client``."""
