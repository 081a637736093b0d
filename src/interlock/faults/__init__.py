"""TCP fault injection in the spirit of Toxiproxy: a proxy between the system and a dependency.

    with Proxy("127.0.0.1:5432") as proxy:        # listens on 127.0.0.1:<free port>
        app_env["DATABASE_PORT"] = proxy.port
        with proxy.latency(ms=200, jitter=50):   # downstream unless direction= says otherwise
            ...
        with proxy.down():                       # refuse new connections, drop open ones
            ...
        proxy.down()                             # as a statement: down until proxy.reset()

Every fault call acts when it is called and returns an ``Applied`` handle; a ``with``
block undoes it at its end.

``FaultServer`` hosts several named proxies with an HTTP control API for a running stack.
"""

from __future__ import annotations

from interlock.faults.applied import Applied
from interlock.faults.errors import FaultError, FaultExists, FaultNotFound, ProxyUnavailable
from interlock.faults.proxy import Proxy, ProxyStats
from interlock.faults.server import FaultServer
from interlock.faults.toxics import DIRECTIONS, TOXIC_TYPES, Direction, Toxic, ToxicOptions

__all__ = [
    "DIRECTIONS",
    "TOXIC_TYPES",
    "Applied",
    "Direction",
    "FaultError",
    "FaultExists",
    "FaultNotFound",
    "FaultServer",
    "Proxy",
    "ProxyStats",
    "ProxyUnavailable",
    "Toxic",
    "ToxicOptions",
]
