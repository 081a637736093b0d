"""The system under test's app as a test sees it: one process, or replicas behind a front.

stack.app.url                 # where clients go: the front when there are replicas
stack.app.replicas[0].kill()  # a replica is a ManagedProcess: kill, pause, restart, ...
stack.app.state()             # which replicas run, which the front has in rotation
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

from interlock.config import ServiceSpec
from interlock.stack.balancer import Backend, Balancer
from interlock.stack.process import ManagedProcess

__all__ = ["App", "front_for", "replica_names"]


def replica_names(spec: ServiceSpec, count: int, group: str = "") -> list[str]:
    """``app`` alone; ``app-1``, ``app-2``, ... for replicas (``app-<group>-1`` in a group)."""
    if count == 1 and not group:
        return [spec.name]
    prefix = f"{spec.name}-{group}-" if group else f"{spec.name}-"
    return [f"{prefix}{i}" for i in range(1, count + 1)]


def front_for(spec: ServiceSpec, replicas: Sequence[ManagedProcess], *, port: int) -> Balancer:
    """The balancing front of ``replicas`` on ``port``, checking ``spec``'s health path."""
    backends = []
    for replica in replicas:
        assert replica.port is not None, "an app replica always has a port of its own"
        backends.append(Backend(replica.name, "127.0.0.1", replica.port))
    return Balancer(
        backends, health=spec.health, interval=spec.health_interval, port=port, name=spec.name
    )


@final
class App:
    """The app: ``url`` clients use, its ``replicas`` (processes), its ``front`` (None for one).

    Killing a replica through ``replicas[i]`` lasts until it is restarted; through the
    ``faults`` fixture (``faults.process("app-1")``) it is restarted when the test ends.
    """

    def __init__(
        self, url: str, replicas: Sequence[ManagedProcess], front: Balancer | None
    ) -> None:
        self.url = url
        self.replicas: tuple[ManagedProcess, ...] = tuple(replicas)
        self.front = front

    def state(self) -> dict[str, Any]:
        """``{"url", "replicas": [{"name", "pid", "running"}], "front": {...} | None}``:
        plain data for reports; the front's part is :meth:`Balancer.state`."""
        return {
            "url": self.url,
            "replicas": [
                {"name": p.name, "pid": p.pid, "running": p.running()} for p in self.replicas
            ],
            "front": self.front.state() if self.front is not None else None,
        }
