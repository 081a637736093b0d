"""What a project's ``[tool.interlock.security]`` says about its tokens."""

from __future__ import annotations

from interlock.config import Config
from interlock.errors import ConfigError

__all__ = ["signing_key"]


def signing_key(config: Config) -> tuple[str, str]:
    """The project's token signing key and algorithm: ``(key, "HS256")``.

    ``signing_key_env`` names the app's variable (in ``[tool.interlock.env]`` or the app's
    own ``env``) that holds the key; ``algorithm`` defaults to HS256. Raises ConfigError
    when either is missing, so that a matrix is never forged with an empty key.
    """
    where = "[tool.interlock.security]"
    name = config.security.get("signing_key_env")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where} signing_key_env must name the variable holding the key")
    env = dict(config.app.env) if config.app is not None else {}
    key = env.get(name)
    if not key:
        raise ConfigError(f"{where} signing_key_env: the app's environment has no {name}")
    algorithm = config.security.get("algorithm", "HS256")
    if not isinstance(algorithm, str):
        raise ConfigError(f"{where} algorithm must be a string such as 'HS256'")
    return key, algorithm
