"""``{name}`` placeholders of commands, env values and seed data, checked when the config loads.

The stack fills them only once PostgreSQL, Redis and the simulators are up; a typo found
then costs a start-up and a teardown. Which names exist is known from the configuration
alone, so a wrong one is refused here, by ``doctor`` and ``run`` alike, before anything
starts. The stack's own ``fill`` stays the authority on the values.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from typing import Any

from interlock.config._model import Config, ServiceSpec
from interlock.errors import ConfigError
from interlock.suggest import nearest

__all__ = ["check_placeholders", "placeholder_names"]


def placeholder_names(config: Config) -> dict[str, str | None]:
    """name -> None when it has a value, or why it has none (a disabled server)."""
    names: dict[str, str | None] = {"python": None, "run_dir": None, "app_url": None}
    names.update({f"{name}_url": None for name in config.simulators})
    names["postgres_url"] = (
        None if config.postgres.enabled else "PostgreSQL is disabled ([tool.interlock] postgres)"
    )
    names["redis_url"] = (
        None if config.redis.enabled else "Redis is disabled ([tool.interlock] redis)"
    )
    return names


def check_placeholders(config: Config) -> None:
    """Every placeholder of the app's and services' command and env, and of the seed data,
    names a value the stack provides; else one ConfigError naming the place and the
    nearest known name."""
    names = placeholder_names(config)
    services = ((config.app,) if config.app is not None else ()) + config.services
    for service in services:
        for where, text in _service_strings(service):
            _check(where, text, {**names, "port": None})
    for simulator, data in config.seed_data.items():
        where = f"[tool.interlock.seed_data.{simulator}]"
        for text in _strings(data):
            _check(where, text, names)


def _service_strings(service: ServiceSpec) -> Iterator[tuple[str, str]]:
    where = f"[tool.interlock.{'app' if service.name == 'app' else 'services.' + service.name}]"
    for part in service.command:
        yield f"{where} command", part
    for key, value in service.env.items():
        yield f"{where} env {key}", value


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def _check(where: str, text: str, names: Mapping[str, str | None]) -> None:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text)]
    except ValueError as exc:  # a lone '{' or '}'
        raise ConfigError(
            f"{where}: bad placeholder in {text!r}: {exc}", hint="write {{ and }} for braces"
        ) from None
    for field in fields:
        if field is None:
            continue
        if field not in names:
            close = nearest(field, names)
            raise ConfigError(
                f"{where}: unknown placeholder {{{field}}} in {text!r}",
                hint=f"did you mean {{{close}}}?"
                if close
                else f"known: {', '.join('{' + name + '}' for name in sorted(names))}",
            )
        reason = names[field]
        if reason is not None:
            raise ConfigError(
                f"{where}: placeholder {{{field}}} is used in {text!r}, but {reason}",
                hint="enable it, or remove the placeholder",
            )
