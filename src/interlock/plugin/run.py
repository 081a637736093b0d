"""The run: Interlock's configuration with command-line overrides, the run folder and the seed.

Built once in the controller at configure time and handed to each xdist worker, so every
process judges, seeds and writes alike. Bad input here is a usage error (one line).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import pytest

from interlock.config import Config, load_config, override_thresholds
from interlock.errors import ConfigError
from interlock.runs import hold_run_dir, mark_run_dir, new_run_dir
from interlock.slo.thresholds import Threshold, default_thresholds, parse_thresholds

__all__ = ["RUN", "RunContext", "run_context"]

#: command-line option (dest) -> its flag, for the thresholds it overrides
THRESHOLD_OPTIONS = {
    "performance_threshold": "--performance-threshold",
    "latency_threshold": "--latency-threshold",
    "integration_timeout": "--integration-timeout",
}
SEED_ENV = "INTERLOCK_SEED"
#: file in the run folder that holds the run's seed
SEED_FILE = "seed"


@final
@dataclass(frozen=True, kw_only=True)
class RunContext:
    """What every feature of the plugin reads about this run."""

    config: Config
    #: the run folder (artifacts); shared by every xdist worker
    run_dir: Path
    #: the xdist worker id ("gw0"), None in the controller or without xdist
    worker: str | None
    #: seed of the simulators' and proxies' randomness; the same in every worker
    seed: int
    #: id of this pytest session, naming its SLO journal folder inside the run folder
    session: str
    #: ``[tool.interlock.slo]``, parsed
    configured: dict[str, tuple[Threshold, ...]]
    #: the global gates (success rate, p95 latency) after every override
    defaults: tuple[Threshold, ...]
    #: the run folder was chosen here (not given with --interlock-run-dir): it is marked
    #: as Interlock's when made, so pruning may remove it later
    ours: bool = False

    @property
    def stack_dir(self) -> Path:
        """Where this process's stack keeps its logs: a subfolder per xdist worker."""
        return self.run_dir / self.worker if self.worker else self.run_dir

    @property
    def journal_dir(self) -> Path:
        return self.run_dir / "slo-journal" / self.session

    def ensure_run_dir(self) -> Path:
        """Create the run folder (once something is written to it) and record the seed."""
        if self.ours:
            mark_run_dir(self.run_dir)
        else:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            # a folder an `interlock run` made: in use while we write, even if it ends
            hold_run_dir(self.run_dir)
        seed_file = self.run_dir / SEED_FILE
        if not seed_file.exists():
            tmp = seed_file.with_name(f".{SEED_FILE}.{os.getpid()}")
            tmp.write_text(f"{self.seed}\n", encoding="utf-8")
            os.replace(tmp, seed_file)
        return self.run_dir

    def to_workerinput(self) -> dict[str, Any]:
        return {
            "interlock_run_dir": str(self.run_dir),
            "interlock_seed": self.seed,
            "interlock_session": self.session,
        }


RUN = pytest.StashKey[RunContext]()


def run_context(config: pytest.Config) -> RunContext:
    return config.stash[RUN]


def build_run_context(config: pytest.Config) -> RunContext:
    """Read and validate everything; raises pytest.UsageError with one line on bad input."""
    try:
        settings = load_config(Path(str(config.rootpath)))
        for dest, flag in THRESHOLD_OPTIONS.items():
            value = getattr(config.option, dest, None)
            if value is not None:
                settings = override_thresholds(settings, flag, **{dest: value})
        configured = {
            name: _parse_rules(name, rules) for name, rules in sorted(settings.slo.items())
        }
        thresholds = settings.thresholds
        defaults = default_thresholds(
            thresholds.performance_threshold, thresholds.latency_threshold
        )
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if workerinput is not None:
            return RunContext(
                config=settings,
                run_dir=Path(workerinput["interlock_run_dir"]),
                worker=str(workerinput.get("workerid", "gw")),
                seed=int(workerinput["interlock_seed"]),
                session=str(workerinput["interlock_session"]),
                configured=configured,
                defaults=defaults,
            )
        chosen = config.option.interlock_run_dir
        return RunContext(
            config=settings,
            run_dir=Path(chosen) if chosen else new_run_dir(settings.artifacts, create=False),
            worker=None,
            seed=_seed(config),
            session=secrets.token_hex(4),
            configured=configured,
            defaults=defaults,
            ours=not chosen,
        )
    except ConfigError as exc:
        raise pytest.UsageError(f"interlock: {exc}") from None


def _parse_rules(name: str, rules: tuple[str, ...]) -> tuple[Threshold, ...]:
    try:
        return parse_thresholds(rules)
    except ConfigError as exc:
        raise ConfigError(f"[tool.interlock.slo] {name}: {exc}") from None


def _seed(config: pytest.Config) -> int:
    """--interlock-seed, else $INTERLOCK_SEED, else a fresh random one (printed to replay)."""
    chosen: int | None = config.option.interlock_seed
    if chosen is not None:
        return chosen
    text = os.environ.get(SEED_ENV, "").strip()
    if text:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"${SEED_ENV} must be a whole number, got {text!r}") from None
    return secrets.randbelow(2**31)
