"""The fault proxy: listens on loopback, forwards to an upstream, applies toxics per connection.

One object serves sync and async callers. ``with Proxy(...)`` runs it on its own loop in
a background thread; ``async with Proxy(...)`` (or ``await start()``) runs it on the
caller's loop. Either way every method below may be called from either side: state
changes are carried onto the proxy's loop by :func:`on_loop`.

Every fault call acts when called and returns an :class:`Applied`: written as a statement
the fault lasts until removed (or the proxy reset); as a ``with`` block, until its end.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, final

from interlock.aio import on_loop
from interlock.errors import ConfigError
from interlock.faults.applied import Applied
from interlock.faults.connection import Connection, Dial
from interlock.faults.errors import FaultExists, FaultNotFound, ProxyUnavailable
from interlock.faults.events import FaultEvent, FaultObserver, Phase, notify
from interlock.faults.front import TcpFront
from interlock.faults.schedule import Installed, connection_rng
from interlock.faults.shorthands import ToxicShorthands
from interlock.faults.toxics import Toxic
from interlock.ports import free_port

__all__ = ["Proxy", "ProxyStats", "parse_address"]

log = logging.getLogger(__name__)
#: ports tried when the proxy picks its own: another process may bind one between the
#: check and the bind
_PORT_CLAIMS = 5


def parse_address(address: str | tuple[str, int]) -> tuple[str, int]:
    """``"host:port"`` or ``(host, port)`` → ``(host, port)``."""
    if isinstance(address, str):
        host, sep, port = address.rpartition(":")
        if sep and host and port.isdigit():
            address = (host.strip("[]"), int(port))
    if (
        not isinstance(address, tuple)
        or len(address) != 2
        or not isinstance(address[0], str)
        or not isinstance(address[1], int)
        or not 0 <= address[1] <= 65535
    ):
        raise ConfigError(f"bad address {address!r}", hint="write host:port, e.g. 127.0.0.1:5432")
    return address


@final
@dataclass(frozen=True)
class ProxyStats:
    """What a proxy holds right now; at rest, ``connections`` and ``tasks`` are both 0."""

    #: accepted client connections whose two sockets are not both closed yet
    connections: int
    #: tasks alive for adopting accepted sockets, connecting upstream, pumping toxic streams
    tasks: int
    #: client connections accepted since the proxy was created
    accepted: int
    #: toxics acting on open connections, one per toxic per connection it applies to
    stages: int


@final
class Proxy(TcpFront, ToxicShorthands):
    """A TCP proxy on ``host:port`` in front of ``upstream``.

    With ``port`` 0 the proxy picks a free port below the ephemeral range, where no
    outgoing connection can take it while the proxy is down. The port stays the same for
    the proxy's life. Raises StateError when used after ``stop`` or started twice.
    """

    def __init__(
        self,
        upstream: str | tuple[str, int],
        *,
        name: str = "proxy",
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"proxy port must be 0 (any free port) to 65535, got {port!r}")
        super().__init__(
            what=f"fault proxy {name!r}", thread=f"fault-proxy-{name}", host=host, port=port
        )
        self.name = name
        self.upstream = parse_address(upstream)
        self.seed = seed
        self._toxics: dict[str, Installed] = {}
        self._enabled = True
        self._recover: asyncio.TimerHandle | None = None
        #: it has listened before: a bind failing now means its port was taken meanwhile
        self._listened = False
        #: told when a toxic or a down starts and ends (see interlock.faults.events)
        self.observer: FaultObserver | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect: give this to the system under test instead of upstream."""
        return (self.host, self._port)

    @property
    def enabled(self) -> bool:
        """True while the proxy accepts connections (or will, once started)."""
        return self._enabled

    # -- lifecycle (start, stop and the with blocks are TcpFront's) -------------------
    async def _begin(self) -> None:
        assert self._loop is not None
        for installed in self._toxics.values():
            installed.arm(self._loop, self._expire)
        if self._enabled:
            self._listen()

    async def _quiet(self) -> None:
        self._cancel_recovery()
        for installed in self._toxics.values():
            installed.disarm()

    # -- toxics ---------------------------------------------------------------------
    def add_toxic(self, toxic: Toxic | str, /, **options: Any) -> Toxic:
        """Add a toxic (a ``Toxic`` or a type plus ``Toxic.build``'s options); returns it.

        It reaches the open connections it selects at once, and new ones as they open.
        Raises ConfigError for a refused value, FaultExists when the name is taken.
        """
        self._life.check_usable()
        if isinstance(toxic, str):
            toxic = Toxic.build(toxic, **options)
        elif options:
            raise ConfigError("pass options to Toxic.build, not to add_toxic, with a Toxic")
        built = toxic
        return on_loop(self._loop, lambda: self._install(built))

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic from the proxy and from every connection; FaultNotFound if absent."""
        self._life.check_usable()
        on_loop(self._loop, lambda: self._uninstall(name, missing_ok=False))

    def toxics(self) -> list[Toxic]:
        """The toxics in place, in the order they were added (readable after stop too)."""
        return on_loop(self._loop, lambda: [i.toxic for i in self._toxics.values()])

    def get_toxic(self, name: str) -> Toxic:
        """The toxic called ``name``; FaultNotFound if there is none."""
        for toxic in self.toxics():
            if toxic.name == name:
                return toxic
        raise FaultNotFound(f"proxy {self.name!r} has no toxic named {name!r}")

    def discard_toxic(self, name: str) -> None:
        """Remove a toxic if it is still there (unlike ``remove_toxic``: it may have expired)."""
        self._life.check_usable()
        on_loop(self._loop, lambda: self._uninstall(name, missing_ok=True))

    def reset(self) -> None:
        """Remove every toxic and bring the proxy up: the state a test starts from.

        Raises ProxyUnavailable if the proxy cannot listen on its port again; it is then
        still down, free of toxics, and a later ``reset()`` or ``enable()`` tries again.
        """
        self._life.check_usable()
        on_loop(self._loop, self._reset)

    def toxic(self, type: str, **options: Any) -> Applied[Toxic]:
        """Add a toxic now; ``with proxy.toxic("latency", latency=100) as t:`` removes it after."""
        added = self.add_toxic(type, **options)
        return Applied(
            added,
            lambda: self._remove_exactly(added),
            what=f"toxic {added.name!r} of proxy {self.name!r}",
        )

    def _remove_exactly(self, toxic: Toxic) -> None:
        self._life.check_usable()
        on_loop(self._loop, lambda: self._uninstall_exactly(toxic))

    # -- down -----------------------------------------------------------------------
    def disable(self, *, duration: float | None = None) -> None:
        """Refuse new connections and close the open ones; for ``duration`` s, or until enabled."""
        self._life.check_usable()
        if duration is not None and duration <= 0:
            raise ConfigError(f"down duration must be > 0 seconds, got {duration!r}")
        on_loop(self._loop, lambda: self._disable(duration))

    def enable(self) -> None:
        """Accept connections again; returns once the proxy listens.

        Raises ProxyUnavailable when its port was taken meanwhile: the proxy stays down.
        """
        self._life.check_usable()
        on_loop(self._loop, self._enable)

    def down(self, *, duration: float | None = None) -> Applied[None]:
        """Take the proxy down now; ``with proxy.down():`` brings it up at the block's end."""
        self.disable(duration=duration)
        return Applied(None, self.enable, what=f"proxy {self.name!r} down")

    def stats(self) -> ProxyStats:
        """What the proxy holds now (readable after stop too: all zero once at rest)."""
        return on_loop(
            self._loop,
            lambda: ProxyStats(
                connections=len(self._tracker.connections),
                tasks=len(self._tracker.tasks),
                accepted=self._accepted,
                stages=sum(
                    len(link.stages)
                    for conn in self._tracker.connections.values()
                    for link in conn.links.values()
                ),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """Toxiproxy's JSON shape of a proxy."""
        return {
            "name": self.name,
            "listen": f"{self.host}:{self._port}",
            "upstream": "{}:{}".format(*self.upstream),
            "enabled": self._enabled,
            "toxics": [toxic.to_dict() for toxic in self.toxics()],
        }

    # -- on the loop ----------------------------------------------------------------
    def _install(self, toxic: Toxic) -> Toxic:
        if toxic.name in self._toxics:
            raise FaultExists(
                f"proxy {self.name!r} already has a toxic named {toxic.name!r}",
                hint="remove it first, or give the new one another name",
            )
        installed = self._toxics[toxic.name] = Installed(toxic)
        self._tell("start", _describe(toxic), _toxic_key(installed))
        if self._loop is not None:
            installed.arm(self._loop, self._expire)
        if installed.admits_existing():
            # a connection accepted but not yet open gets its toxics when it opens (_opened)
            for conn in list(self._tracker.connections.values()):
                if conn.opened and not conn.closing:
                    self._maybe_apply(conn, toxic)
        return toxic

    def _uninstall(self, name: str, *, missing_ok: bool) -> None:
        installed = self._toxics.pop(name, None)
        if installed is None:
            if missing_ok:
                return
            raise FaultNotFound(
                f"proxy {self.name!r} has no toxic named {name!r}",
                hint=f"it has: {', '.join(self._toxics) or 'none'}",
            )
        installed.disarm()
        for conn in list(self._tracker.connections.values()):
            conn.remove(name)
        self._tell("end", _describe(installed.toxic), _toxic_key(installed))

    def _uninstall_exactly(self, toxic: Toxic) -> None:
        # this toxic, not a later one of the same name added after it expired
        installed = self._toxics.get(toxic.name)
        if installed is not None and installed.toxic is toxic:
            self._uninstall(toxic.name, missing_ok=True)

    def _reset(self) -> None:
        for name in list(self._toxics):
            self._uninstall(name, missing_ok=True)
        self._enable()

    def _expire(self, name: str) -> None:
        self._uninstall(name, missing_ok=True)

    def _maybe_apply(self, conn: Connection, toxic: Toxic) -> None:
        rng = connection_rng(self.seed, self.name, conn.number, toxic.name)
        if rng.random() < toxic.toxicity:
            conn.apply(toxic, rng)

    @property
    def _target(self) -> tuple[str, int] | Dial:
        return self.upstream

    def _admit(self, conn: Connection) -> None:
        for installed in self._toxics.values():
            if installed.admits_new():
                self._maybe_apply(conn, installed.toxic)

    def _listen(self) -> None:
        if self._port:
            self._listen_on(self._port)
            return
        for claim in range(_PORT_CLAIMS):
            port = free_port(self.host)
            try:
                self._listen_on(port)
            except ProxyUnavailable:
                if claim == _PORT_CLAIMS - 1:
                    raise
                continue  # taken between the check and the bind: another free port
            self._port = port
            return

    def _listen_on(self, port: int) -> None:
        self._listener = self._bind(
            port,
            hint="another process took the port while the proxy was down; once it is "
            "free, reset() or enable() brings the proxy up"
            if self._listened
            else "pick another port, or 0 for a free one",
        )
        self._listened = True

    def _disable(self, duration: float | None) -> None:
        if self._enabled:
            self._tell("start", "down", "down")
        self._enabled = False
        self._unlisten()
        for conn in list(self._tracker.connections.values()):
            conn.finish()
        self._cancel_recovery()
        if duration is not None and self._loop is not None:
            self._recover = self._loop.call_later(duration, self._recover_by_itself)

    def _enable(self) -> None:
        self._cancel_recovery()
        if self._enabled:
            return
        if self._loop is not None:
            self._listen()  # raises, leaving the proxy down, when the port is gone
        self._enabled = True
        self._tell("end", "down", "down")

    def _tell(self, phase: Phase, fault: str, key: str) -> None:
        event = FaultEvent(phase=phase, source="proxy", target=self.name, fault=fault, key=key)
        notify(self.observer, event)

    def _recover_by_itself(self) -> None:
        self._recover = None
        try:
            self._enable()
        except ProxyUnavailable as exc:
            log.warning("%s", exc)

    def _cancel_recovery(self) -> None:
        if self._recover is not None:
            self._recover.cancel()
            self._recover = None


def _describe(toxic: Toxic) -> str:
    """``latency downstream latency=300 jitter=0``: the toxic as a reader names it."""
    parts = [toxic.type, toxic.direction]
    parts += [f"{key}={value:g}" for key, value in toxic.attributes.items()]
    if toxic.toxicity < 1:
        parts.append(f"toxicity={toxic.toxicity:g}")
    return " ".join(parts)


def _toxic_key(installed: Installed) -> str:
    # a toxic name is reused once removed: the installation, not the name, is the fault
    return f"toxic:{installed.toxic.name}:{id(installed):x}"
