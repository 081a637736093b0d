"""Several named proxies and their HTTP control API on one loop: the faults of a running stack."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import final

from interlock.aio import AppServer, LoopService
from interlock.faults.control import build_app
from interlock.faults.errors import FaultExists, FaultNotFound
from interlock.faults.events import FaultObserver
from interlock.faults.proxy import Proxy
from interlock.faults.toxics import check_name
from interlock.lifecycle import Lifecycle

__all__ = ["FaultServer"]


@final
class FaultServer(LoopService):
    """``with FaultServer({"postgres": "127.0.0.1:5432"}) as faults: faults["postgres"].port``.

    The control API at ``faults.url`` lets a monitor or a person add and remove proxies
    and toxics while the stack runs; see :mod:`interlock.faults.control`. Entering it
    twice, or using it after it closed, raises StateError.
    """

    def __init__(
        self,
        proxies: Mapping[str, str | tuple[str, int]] | None = None,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.seed = seed
        self.host = host
        self.url = ""
        self.proxies: dict[str, Proxy] = {}
        for name, upstream in (proxies or {}).items():
            self.proxies[check_name("proxy", name)] = Proxy(
                upstream, name=name, seed=seed, host=host
            )
        self._control = AppServer(build_app(self), host=host, port=port)
        self._running: AsyncExitStack | None = None
        self._life = Lifecycle("fault server")
        self._thread = "fault-server"
        self._observer: FaultObserver | None = None

    @property
    def observer(self) -> FaultObserver | None:
        """Told when a fault starts or ends on any proxy, those added later too."""
        return self._observer

    @observer.setter
    def observer(self, observer: FaultObserver | None) -> None:
        self._observer = observer
        for proxy in self.proxies.values():
            proxy.observer = observer

    def __getitem__(self, name: str) -> Proxy:
        """The proxy called ``name``; FaultNotFound if there is none."""
        try:
            return self.proxies[name]
        except KeyError:
            raise FaultNotFound(
                f"no fault proxy named {name!r}", hint=f"have: {', '.join(self.proxies) or 'none'}"
            ) from None

    async def _start(self) -> None:
        """Start every proxy and the control API; what started is stopped if one fails."""
        async with AsyncExitStack() as stack:
            for proxy in self.proxies.values():
                await proxy.start()
                stack.push_async_callback(proxy.stop)
            await self._control.start()
            stack.push_async_callback(self._control.stop)
            self.url = self._control.url
            self._running = stack.pop_all()

    async def stop(self) -> None:
        """Stop the control API and every proxy (added ones too); idempotent."""
        self._life.close()
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()
        for proxy in self.proxies.values():
            await proxy.stop()

    async def add_proxy(
        self, name: object, upstream: str | tuple[str, int], *, port: int = 0
    ) -> Proxy:
        """Start another proxy on this server's loop (the control API's POST /proxies).

        Raises ConfigError for a bad name or address, FaultExists when the name is taken.
        """
        self._life.check_open()
        name = check_name("proxy", name)
        if name in self.proxies:
            raise FaultExists(f"a fault proxy named {name!r} already exists")
        proxy = Proxy(upstream, name=name, seed=self.seed, host=self.host, port=port)
        proxy.observer = self._observer
        await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def remove_proxy(self, name: str) -> None:
        """Stop the proxy called ``name`` and forget it; FaultNotFound if there is none."""
        self._life.check_open()
        await self[name].stop()
        del self.proxies[name]

    def reset(self) -> None:
        """Every proxy up and free of toxics.

        Every proxy is reset even if one cannot listen again; then the first such
        ProxyUnavailable is raised.
        """
        self._life.check_usable()
        failures = []
        for proxy in self.proxies.values():
            try:
                proxy.reset()
            except Exception as exc:  # the others still get their reset
                failures.append(exc)
        if failures:
            raise failures[0]
