"""Several named proxies and their HTTP control API on one loop: the faults of a running stack."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from contextlib import ExitStack
from typing import final

from aiohttp import web

from interlock.errors import ConfigError
from interlock.faults.control import build_app
from interlock.faults.loopthread import LoopThread
from interlock.faults.proxy import Proxy
from interlock.faults.toxics import check_name

__all__ = ["FaultServer"]


@final
class FaultServer:
    """``with FaultServer({"postgres": "127.0.0.1:5432"}) as faults: faults["postgres"].port``.

    The control API at ``faults.url`` lets a monitor or a person add and remove proxies
    and toxics while the stack runs; see :mod:`interlock.faults.control`.
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
        self._port = port
        self._runner: web.AppRunner | None = None
        self._owned: ExitStack | None = None

    def __getitem__(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise ConfigError(
                f"no fault proxy named {name!r}", hint=f"have: {', '.join(self.proxies) or 'none'}"
            ) from None

    async def start(self) -> None:
        for proxy in self.proxies.values():
            await proxy.start()
        sock = socket.create_server((self.host, self._port))
        self._port = sock.getsockname()[1]
        self._runner = web.AppRunner(
            build_app(self), access_log=None, handle_signals=False, shutdown_timeout=0.2
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://{self.host}:{self._port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for proxy in self.proxies.values():
            await proxy.stop()

    async def __aenter__(self) -> FaultServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> FaultServer:
        with ExitStack() as stack:
            thread = stack.enter_context(LoopThread("fault-server"))
            stack.callback(lambda: thread.run(self.stop()))
            thread.run(self.start())
            self._owned = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    async def add_proxy(
        self, name: object, upstream: str | tuple[str, int], *, port: int = 0
    ) -> Proxy:
        """Start another proxy on this server's loop (the control API's POST /proxies)."""
        name = check_name("proxy", name)
        if name in self.proxies:
            raise ConfigError(f"a fault proxy named {name!r} already exists")
        proxy = Proxy(upstream, name=name, seed=self.seed, host=self.host, port=port)
        await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def remove_proxy(self, name: str) -> None:
        await self[name].stop()
        del self.proxies[name]

    def reset(self) -> None:
        """Every proxy up and free of toxics."""
        for proxy in self.proxies.values():
            proxy.reset()
