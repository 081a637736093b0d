"""What to watch without configuration: a running ``interlock env up``, from its state file.

``env up`` leaves its addresses as JSON under ``<project>/.interlock/``: ``env.json`` or one
file per stack under ``env/``. The shape is ``{"postgres", "redis", "app", "simulators":
{name: url}, "faults", "pid"}``. When the stack has fault proxies, PostgreSQL and Redis are
probed through them, as the system under test reaches them, so a fault shows.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

from interlock.errors import ConfigError
from interlock.monitor.conditions import parse_condition
from interlock.monitor.config import ProbeSpec

__all__ = ["EnvState", "find_env_state", "read_project_table"]


@dataclass(frozen=True, kw_only=True)
class EnvState:
    """The addresses of a running stack."""

    path: Path
    postgres: str | None = None
    redis: str | None = None
    app: str | None = None
    simulators: dict[str, str] = field(default_factory=dict)
    faults: str | None = None
    pid: int | None = None

    def probes(self, interval: float, timeout: float, health: str = "/") -> tuple[ProbeSpec, ...]:
        """One probe per dependency, the app (depending on them) and each simulator."""
        through = self._proxied()
        common: dict[str, Any] = {"interval": interval, "timeout": timeout}
        probes: list[ProbeSpec] = []
        if self.postgres:
            url = _via(self.postgres, through.get("postgres"))
            probes.append(ProbeSpec(name="postgres", kind="postgres", target=url, **common))
        if self.redis:
            url = _via(self.redis, through.get("redis"))
            probes.append(ProbeSpec(name="redis", kind="redis", target=url, **common))
        if self.app:
            probes.append(
                ProbeSpec(
                    name="app",
                    kind="http",
                    target=self.app.rstrip("/") + health,
                    conditions=(parse_condition("[STATUS] == 200", "app"),),
                    depends_on=tuple(p.name for p in probes),
                    **common,
                )
            )
        for name, url in self.simulators.items():
            probes.append(ProbeSpec(name=name, kind="simulator", target=url, **common))
        return tuple(probes)

    def processes(self) -> dict[str, int]:
        """The stack's process tree to watch for CPU and memory."""
        return {"stack": self.pid} if self.pid and psutil.pid_exists(self.pid) else {}

    def _proxied(self) -> dict[str, str]:
        """Proxy name -> listen address, from the fault control API (empty without one)."""
        if not self.faults:
            return {}
        try:
            body = httpx.get(f"{self.faults.rstrip('/')}/proxies", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return {}
        if not isinstance(body, dict):
            return {}
        return {
            name: str(proxy["listen"])
            for name, proxy in body.items()
            if isinstance(proxy, dict) and "listen" in proxy
        }


def _via(url: str, listen: str | None) -> str:
    """``url`` with its host:port replaced by the proxy's listen address."""
    if not listen:
        return url
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{listen}" if userinfo else listen
    return urlunsplit(parts._replace(netloc=netloc))


def _candidates(root: Path) -> list[Path]:
    folder = root / ".interlock"
    found = [folder / "env.json"] if (folder / "env.json").is_file() else []
    if (folder / "env").is_dir():
        found += sorted((folder / "env").glob("*.json"))
    return found


def find_env_state(root: Path) -> EnvState | None:
    """The newest state file of a running ``env up`` under ``root``, or None.

    A file whose ``pid`` is no longer running is left over from a crash and skipped.
    """
    states: list[tuple[float, EnvState]] = []
    for path in _candidates(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        pid = data.get("pid")
        if isinstance(pid, int) and not psutil.pid_exists(pid):
            continue
        simulators = data.get("simulators") or {}
        states.append(
            (
                mtime,
                EnvState(
                    path=path,
                    postgres=_text(data.get("postgres")),
                    redis=_text(data.get("redis")),
                    app=_text(data.get("app")),
                    simulators={str(k): str(v) for k, v in simulators.items()}
                    if isinstance(simulators, dict)
                    else {},
                    faults=_text(data.get("faults")),
                    pid=pid if isinstance(pid, int) else None,
                ),
            )
        )
    return max(states, key=lambda item: item[0])[1] if states else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_project_table(root: Path) -> tuple[dict[str, Any], str]:
    """``([tool.interlock.monitor], app health path)`` from ``root/pyproject.toml``.

    Raises ConfigError when the file is not valid TOML or the table is not a table.
    """
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}, "/"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    interlock = data.get("tool", {}).get("interlock", {})
    table = interlock.get("monitor", {}) if isinstance(interlock, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.interlock.monitor] must be a table")
    app = interlock.get("app", {}) if isinstance(interlock, dict) else {}
    health = app.get("health") if isinstance(app, dict) else None
    return table, health if isinstance(health, str) and health.startswith("/") else "/"
