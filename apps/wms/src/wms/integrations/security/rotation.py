"""A feed's SDK clients across an API-key rotation, and their closing.

``KeyedClients`` (wms.integrations.keys) gives the usable keys, one client per key, and
calls that fall back from the newest key to the one it replaces when the provider
refuses the newest as unknown. ``FeedClients`` adds what the feeds need on top:

* ``arun``, the same fallback for an async SDK (vt-py, whose calls run on the event loop);
* closing: a client whose key went away (revoked, or past its overlap) is closed at the
  next ``keys()`` once no call is using it, and every client left is closed at ``aclose``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from wms.integrations.keys import KeyedClients, KeyRing, NoUsableKey, key_refused

__all__ = ["FeedClients"]

log = logging.getLogger("wms.security")

C = TypeVar("C")
T = TypeVar("T")


class FeedClients(Generic[C]):
    """One client per usable key of a feed (made by ``make`` on first use, closed by
    ``close`` when its key goes away), and calls that survive a key rotation.

    ``await keys()`` on the event loop, then ``run(keys, fn)`` in the worker thread (a
    sync SDK) or ``await arun(keys, fn)`` on the loop (an async one): ``fn(client)`` with
    the newest key's client, and with the next key's while ``refused(exc)`` says the
    provider refused the key as unknown (and so did nothing).
    """

    def __init__(
        self,
        service: str,
        make: Callable[[str], C],
        *,
        close: Callable[[C], Awaitable[None]],
        refused: Callable[[Exception], bool],
        rings: Mapping[str, KeyRing] | None = None,
        default: str = "",
    ) -> None:
        self.service = service
        self._make = make
        self._close = close
        self._refused = refused
        self._keyed = KeyedClients(
            service, self._made_for, refused=refused, rings=rings, default=default
        )
        self._lock = threading.Lock()  # keys() runs on the loop, calls in worker threads
        #: every client made and not closed yet, with its key
        self._open: list[tuple[str, C]] = []
        #: id(client) -> calls using it right now
        self._busy: dict[int, int] = {}

    @property
    def configured(self) -> bool:
        return self._keyed.configured

    def _made_for(self, key: str) -> C:
        client = self._make(key)
        with self._lock:
            self._open.append((key, client))
        return client

    async def keys(self) -> list[str]:
        """The usable keys, newest first; closes the idle clients of keys gone since."""
        keys = await self._keyed.keys()
        usable = set(keys)
        with self._lock:
            gone = [c for k, c in self._open if k not in usable and not self._busy.get(id(c))]
            self._open = [(k, c) for k, c in self._open if not any(c is g for g in gone)]
        for client in gone:
            await self._shut(client)
        return keys

    @contextmanager
    def _using(self, client: C) -> Iterator[C]:
        with self._lock:
            self._busy[id(client)] = self._busy.get(id(client), 0) + 1
        try:
            yield client
        finally:
            with self._lock:
                left = self._busy.pop(id(client)) - 1
                if left:
                    self._busy[id(client)] = left

    def _use(self, fn: Callable[[C], T]) -> Callable[[C], T]:
        def call(client: C) -> T:
            with self._using(client):
                return fn(client)

        return call

    def run(self, keys: Sequence[str], fn: Callable[[C], T]) -> T:
        """In the worker thread: ``fn(client)``, newest key first (see the class)."""
        return self._keyed.run(keys, self._use(fn))

    async def arun(self, keys: Sequence[str], fn: Callable[[C], Awaitable[T]]) -> T:
        """On the event loop: ``await fn(client)``, newest key first (see the class)."""
        for index, key in enumerate(keys):
            try:
                with self._using(self._keyed.client(key)) as client:
                    return await fn(client)
            except Exception as exc:
                refused = self._refused(exc)
                if refused:
                    key_refused(self.service, key)
                if index + 1 < len(keys) and refused:
                    continue
                raise
        raise NoUsableKey(f"{self.service} has no usable API key")

    async def aclose(self) -> None:
        with self._lock:
            clients, self._open = [c for _, c in self._open], []
        for client in clients:
            await self._shut(client)

    async def _shut(self, client: C) -> None:
        try:
            await self._close(client)
        except Exception as exc:  # a client that will not close must not fail a lookup
            log.warning("a %s client did not close: %s", self.service, exc)
