"""The balancing front: one address for the app's replicas, round robin over those in rotation.

    with Balancer([Backend("app-1", "127.0.0.1", 8001), Backend("app-2", "127.0.0.1", 8002)],
                  health="/health", port=8000) as front:
        front.members()   # which replicas are in rotation, and why the others are out

It balances TCP connections, not requests: each client connection is joined to one
replica for its life, through the fault proxy's connection and link code (bytes flow
straight through, half-closes pass). The rules:

- **Round robin** over the replicas in rotation, one step per client connection.
- **Refused → next replica**: a replica that refuses the connection is taken out of
  rotation at once, and the same client connection is offered to the next one. Nothing
  of the client's has been sent yet, so this never sends a request twice. Any other
  failure (a reset or a close after the request went out) reaches the client as it is:
  the request may have arrived, and only the client may decide to send it again.
- **Health**: every replica's health path (``GET``, 2xx = healthy; without a path, "its
  port accepts") is polled every ``interval`` seconds; a failing replica is out until a
  check passes again, and a passing check puts back a replica taken out for refusing.
- **None in rotation**: every replica is tried, in round-robin order, as nginx does,
  rather than refusing a client that one of them might serve.

Errors: ConfigError (no backend, bad interval), ProxyUnavailable (the port cannot be
bound), StateError (started twice, used after stop).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, final

from interlock.aio import Tasks, on_loop
from interlock.errors import ConfigError
from interlock.faults.connection import Connection, Dial
from interlock.faults.front import TcpFront

__all__ = ["Backend", "Balancer", "Change", "Member"]

log = logging.getLogger(__name__)
#: seconds a replica has to accept a connection before the client's connection fails
CONNECT_TIMEOUT = 5.0
#: transitions kept for reports; older ones are dropped
MAX_CHANGES = 1000


@final
@dataclass(frozen=True)
class Backend:
    """A replica the front forwards to."""

    name: str
    host: str
    port: int


@final
@dataclass(frozen=True, kw_only=True)
class Member:
    """A replica as the front sees it now."""

    name: str
    #: ``host:port``
    address: str
    #: in rotation: new client connections may go to it
    healthy: bool
    #: why it is out of rotation ("" while in): a refused connection, a failed check
    reason: str
    #: client connections joined to it since the front started
    connections: int


@final
@dataclass(frozen=True, kw_only=True)
class Change:
    """A replica going out of rotation or coming back."""

    #: seconds since the epoch
    at: float
    name: str
    healthy: bool
    reason: str


class _Slot:
    __slots__ = ("backend", "connections", "healthy", "reason")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # the stack waits for every replica to be ready before a test runs
        self.healthy = True
        self.reason = ""
        self.connections = 0


@final
class Balancer(TcpFront):
    """A TCP front on ``host:port`` (0: a free port) over ``backends``; see the module doc.

    ``health`` is the HTTP path polled every ``interval`` seconds, each check given
    ``check_timeout`` seconds. ``with Balancer(...)`` runs it on a loop of its own in a
    background thread; ``async with`` (or ``await start()``) on the caller's loop.
    """

    def __init__(
        self,
        backends: Sequence[Backend],
        *,
        health: str | None = None,
        interval: float = 0.5,
        check_timeout: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "app",
    ) -> None:
        if not backends:
            raise ConfigError(f"balancing front {name!r} needs at least one replica")
        if not interval > 0 or not check_timeout > 0:
            raise ConfigError(
                f"balancing front {name!r}: interval and check_timeout must be > 0 seconds, "
                f"got {interval!r} and {check_timeout!r}"
            )
        super().__init__(
            what=f"balancing front {name!r}", thread=f"balancer-{name}", host=host, port=port
        )
        self.name = name
        self.health = health
        self.interval = interval
        self.check_timeout = check_timeout
        self._slots = [_Slot(backend) for backend in backends]
        self._next = 0
        self._checks = Tasks(f"balancing front {name!r}")
        self._changes: deque[Change] = deque(maxlen=MAX_CHANGES)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    # -- what it holds ----------------------------------------------------------------
    def members(self) -> list[Member]:
        """Every replica, in configured order, with whether it is in rotation and why not."""
        return on_loop(self._loop, self._members)

    def changes(self) -> list[Change]:
        """Replicas going out and coming back, oldest first (the last ``MAX_CHANGES``)."""
        return on_loop(self._loop, lambda: list(self._changes))

    def state(self) -> dict[str, Any]:
        """``{"url", "members": [...], "changes": [...]}`` as plain data, for reports."""
        return {
            "url": self.url,
            "members": [asdict(member) for member in self.members()],
            "changes": [asdict(change) for change in self.changes()],
        }

    def connections(self) -> int:
        """Client connections open now (both sockets not yet closed); 0 at rest."""
        return on_loop(self._loop, lambda: len(self._tracker.connections))

    def _members(self) -> list[Member]:
        return [
            Member(
                name=slot.backend.name,
                address=f"{slot.backend.host}:{slot.backend.port}",
                healthy=slot.healthy,
                reason=slot.reason,
                connections=slot.connections,
            )
            for slot in self._slots
        ]

    # -- lifecycle (start, stop and the with blocks are TcpFront's) ---------------------
    async def _begin(self) -> None:
        """Listen (the kernel picks a port for 0) and start the health checks."""
        self._listener = self._bind(self._port, hint="pick another port, or 0 for a free one")
        self._port = self._listener.port
        self._checks.spawn(self._watch_health())

    async def _quiet(self) -> None:
        await self._checks.close()

    # -- connections (on the loop) ----------------------------------------------------
    @property
    def _target(self) -> Dial:
        return self._dial

    def _admit(self, conn: Connection) -> None:
        pass  # a replica's connection carries nothing of its own: bytes flow straight through

    async def _dial(self, protocol: Callable[[], asyncio.Protocol]) -> None:
        """Connect to the next replica in rotation; on a refusal, to the one after it."""
        loop = asyncio.get_running_loop()
        refused: OSError | None = None
        for slot in self._order():
            backend = slot.backend
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await loop.create_connection(protocol, backend.host, backend.port)
            except ConnectionRefusedError as exc:
                # nothing was sent: offering the connection to the next replica is safe
                self._set(slot, healthy=False, reason="refused a connection")
                refused = exc
                continue
            except TimeoutError:
                raise OSError(f"{backend.name} did not accept in {CONNECT_TIMEOUT:g} s") from None
            slot.connections += 1
            return
        raise ConnectionRefusedError(f"every replica refused: {refused}")

    def _order(self) -> list[_Slot]:
        count = len(self._slots)
        start, self._next = self._next, (self._next + 1) % count
        turn = [self._slots[(start + i) % count] for i in range(count)]
        # none in rotation: try them all rather than refuse a client one of them may serve
        return [slot for slot in turn if slot.healthy] or turn

    def _set(self, slot: _Slot, *, healthy: bool, reason: str) -> None:
        if slot.healthy == healthy:
            if not healthy:
                slot.reason = reason  # still out: say why as of now
            return
        slot.healthy, slot.reason = healthy, reason
        change = Change(at=time.time(), name=slot.backend.name, healthy=healthy, reason=reason)
        self._changes.append(change)
        log.info(
            "balancing front %r: %s %s%s",
            self.name,
            change.name,
            "back in rotation" if healthy else "out of rotation",
            f" ({reason})" if reason else "",
        )

    # -- health (on the loop) ---------------------------------------------------------
    async def _watch_health(self) -> None:
        while True:
            # a poll interval, not a synchronisation: the checks run on a fixed cadence
            await asyncio.sleep(self.interval)
            results = await asyncio.gather(*(self._check(slot.backend) for slot in self._slots))
            for slot, failure in zip(self._slots, results, strict=True):
                self._set(slot, healthy=failure is None, reason=failure or "")

    async def _check(self, backend: Backend) -> str | None:
        """None when ``backend`` is healthy, otherwise what the check saw."""
        target = f"{backend.host}:{backend.port}"
        try:
            async with asyncio.timeout(self.check_timeout):
                reader, writer = await asyncio.open_connection(backend.host, backend.port)
                try:
                    if self.health is None:
                        return None
                    writer.write(
                        f"GET {self.health} HTTP/1.1\r\nHost: {target}\r\n"
                        "Connection: close\r\n\r\n".encode()
                    )
                    status_line = await reader.readline()
                finally:
                    writer.close()
        except TimeoutError:
            return f"health check: no answer in {self.check_timeout:g} s"
        except OSError as exc:
            return f"health check: {exc.strerror or exc}"
        except ValueError:  # a status line past the stream's limit
            return f"health check: GET {self.health} answered an endless status line"
        parts = status_line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            return f"health check: GET {self.health} answered {status_line[:60]!r}"
        status = int(parts[1])
        if not 200 <= status < 300:
            return f"health check: GET {self.health} answered {status}"
        return None
