"""The fault proxy: listens on loopback, forwards to an upstream, applies toxics per connection.

One object serves sync and async callers. ``with Proxy(...)`` runs it on its own loop in
a background thread; ``async with Proxy(...)`` (or ``await start()``) runs it on the
caller's loop. Either way every method below may be called from either side: state
changes are carried onto the proxy's loop by :func:`on_loop`.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Unpack, final

from interlock.errors import ConfigError
from interlock.faults.connection import Connection, Tracker
from interlock.faults.listener import Listener
from interlock.faults.loopthread import LoopThread, on_loop
from interlock.faults.schedule import Installed, connection_rng
from interlock.faults.toxics import Toxic, ToxicOptions

__all__ = ["Proxy", "ProxyStats", "parse_address"]

#: what the toxic helpers return: ``with proxy.latency(ms=100) as toxic: ...``
_Scope = AbstractContextManager[Toxic]


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


@final
class Proxy:
    """A TCP proxy on ``host:port`` (0: a free port) in front of ``upstream``."""

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
        self.name = name
        self.upstream = parse_address(upstream)
        self.host = host
        self.seed = seed
        self._port = port
        self._toxics: dict[str, Installed] = {}
        self._tracker = Tracker()
        self._numbers = itertools.count(1)
        self._accepted = 0
        self._enabled = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Listener | None = None
        self._recover: asyncio.TimerHandle | None = None
        self._owned: ExitStack | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect: give this to the system under test instead of upstream."""
        return (self.host, self._port)

    @property
    def enabled(self) -> bool:
        return self._enabled

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on the running loop; connections are accepted from here on."""
        self._loop = asyncio.get_running_loop()
        for installed in self._toxics.values():
            installed.arm(self._loop, self._expire)
        if self._enabled:
            self._listen()

    async def stop(self) -> None:
        """Stop listening, drop every connection, and wait until all is closed."""
        self._unlisten()
        if self._recover is not None:
            self._recover.cancel()
        for installed in self._toxics.values():
            installed.disarm()
        # sockets accepted just before are still being adopted; once adopted they find
        # the proxy not listening and close themselves, so waiting covers them too
        for conn in list(self._tracker.connections.values()):
            conn.abort()
        await self._tracker.settle(timeout=5)
        for task in list(self._tracker.tasks):
            task.cancel()
        await self._tracker.settle(timeout=1)
        self._loop = None

    async def __aenter__(self) -> Proxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Proxy:
        with ExitStack() as stack:
            thread = stack.enter_context(LoopThread(f"fault-proxy-{self.name}"))
            thread.run(self.start())
            stack.callback(lambda: thread.run(self.stop()))
            self._owned = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    # -- toxics ---------------------------------------------------------------------
    def add_toxic(self, toxic: Toxic | str, /, **options: Any) -> Toxic:
        """Add a toxic (a ``Toxic`` or a type plus ``Toxic.build``'s options); returns it."""
        if isinstance(toxic, str):
            toxic = Toxic.build(toxic, **options)
        elif options:
            raise ConfigError("pass options to Toxic.build, not to add_toxic, with a Toxic")
        return on_loop(self._loop, lambda: self._install(toxic))

    def remove_toxic(self, name: str) -> None:
        on_loop(self._loop, lambda: self._uninstall(name, missing_ok=False))

    def toxics(self) -> list[Toxic]:
        return on_loop(self._loop, lambda: [i.toxic for i in self._toxics.values()])

    def discard_toxic(self, name: str) -> None:
        """Remove a toxic if it is still there (unlike ``remove_toxic``: it may have expired)."""
        on_loop(self._loop, lambda: self._uninstall(name, missing_ok=True))

    def reset(self) -> None:
        """Remove every toxic and bring the proxy up: the state a test starts from."""
        on_loop(self._loop, self._reset)

    @contextmanager
    def toxic(self, type: str, **options: Any) -> Iterator[Toxic]:
        """``with proxy.toxic("latency", latency=100): ...``; removed on the way out."""
        added = self.add_toxic(type, **options)
        try:
            yield added
        finally:
            self.discard_toxic(added.name)

    def latency(self, ms: float, jitter: float = 0, **options: Unpack[ToxicOptions]) -> _Scope:
        return self.toxic("latency", latency=ms, jitter=jitter, **options)

    def bandwidth(self, rate: float, **options: Unpack[ToxicOptions]) -> _Scope:
        """``rate`` in KB/s, 1 KB = 1000 bytes."""
        return self.toxic("bandwidth", rate=rate, **options)

    def slow_close(self, ms: float, **options: Unpack[ToxicOptions]) -> _Scope:
        return self.toxic("slow_close", delay=ms, **options)

    def timeout(self, ms: float = 0, **options: Unpack[ToxicOptions]) -> _Scope:
        """Hold the data; close the connection after ``ms`` (0: hold until removed)."""
        return self.toxic("timeout", timeout=ms, **options)

    def reset_peer(self, ms: float = 0, **options: Unpack[ToxicOptions]) -> _Scope:
        """Hold the data; after ``ms``, reset the connection (the peer sees ECONNRESET)."""
        return self.toxic("reset_peer", timeout=ms, **options)

    def slicer(
        self,
        average_size: int,
        size_variation: int = 0,
        delay_us: float = 0,
        **options: Unpack[ToxicOptions],
    ) -> _Scope:
        return self.toxic(
            "slicer",
            average_size=average_size,
            size_variation=size_variation,
            delay=delay_us,
            **options,
        )

    def limit_data(self, bytes: int, **options: Unpack[ToxicOptions]) -> _Scope:
        return self.toxic("limit_data", bytes=bytes, **options)

    # -- down -----------------------------------------------------------------------
    def disable(self, *, duration: float | None = None) -> None:
        """Refuse new connections and close the open ones; for ``duration`` s, or until enabled."""
        if duration is not None and duration <= 0:
            raise ConfigError(f"down duration must be > 0 seconds, got {duration!r}")
        on_loop(self._loop, lambda: self._disable(duration))

    def enable(self) -> None:
        on_loop(self._loop, self._enable)

    @contextmanager
    def down(self, *, duration: float | None = None) -> Iterator[None]:
        self.disable(duration=duration)
        try:
            yield
        finally:
            self.enable()

    def stats(self) -> ProxyStats:
        return on_loop(
            self._loop,
            lambda: ProxyStats(
                connections=len(self._tracker.connections),
                tasks=len(self._tracker.tasks),
                accepted=self._accepted,
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
            raise ConfigError(
                f"proxy {self.name!r} already has a toxic named {toxic.name!r}",
                hint="remove it first, or give the new one another name",
            )
        installed = self._toxics[toxic.name] = Installed(toxic)
        if self._loop is not None:
            installed.arm(self._loop, self._expire)
        if installed.admits_existing():
            for conn in list(self._tracker.connections.values()):
                self._maybe_apply(conn, toxic)
        return toxic

    def _uninstall(self, name: str, *, missing_ok: bool) -> None:
        installed = self._toxics.pop(name, None)
        if installed is None:
            if missing_ok:
                return
            raise ConfigError(
                f"proxy {self.name!r} has no toxic named {name!r}",
                hint=f"it has: {', '.join(self._toxics) or 'none'}",
            )
        installed.disarm()
        for conn in list(self._tracker.connections.values()):
            conn.remove(name)

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

    def _accept(self) -> asyncio.Protocol:
        self._accepted += 1
        return Connection(next(self._numbers), self.upstream, self._tracker, self._opened).client

    def _opened(self, conn: Connection) -> None:
        if self._listener is None:  # accepted just before the proxy went down or stopped
            conn.finish()
            return
        for installed in self._toxics.values():
            if installed.admits_new():
                self._maybe_apply(conn, installed.toxic)

    def _listen(self) -> None:
        assert self._loop is not None
        self._listener = Listener(self._loop, self.host, self._port, self._adopt)
        self._port = self._listener.port

    def _adopt(self, sock: socket.socket) -> None:
        self._tracker.spawn(self._connect_client(sock))

    async def _connect_client(self, sock: socket.socket) -> None:
        await asyncio.get_running_loop().connect_accepted_socket(self._accept, sock=sock)

    def _unlisten(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _disable(self, duration: float | None) -> None:
        self._enabled = False
        self._unlisten()
        for conn in list(self._tracker.connections.values()):
            conn.finish()
        if self._recover is not None:
            self._recover.cancel()
        if duration is not None and self._loop is not None:
            self._recover = self._loop.call_later(duration, self._enable)

    def _enable(self) -> None:
        if self._recover is not None:
            self._recover.cancel()
            self._recover = None
        if not self._enabled:
            self._enabled = True
            if self._loop is not None:
                self._listen()
