"""Adapters to external services; each call goes through ``resilience.ExternalService``."""

from __future__ import annotations

from wms.integrations.resilience import (
    ExternalService,
    Permanent,
    Policy,
    Transient,
    policy_for,
)
from wms.settings import Settings

__all__ = ["ExternalService", "Permanent", "Policy", "Transient", "external_service"]


def external_service(name: str, settings: Settings) -> ExternalService:
    """The resilient wrapper of one service, configured from settings (its own timeout,
    ``WMS_<SERVICE>_TIMEOUT_S``, or the default); raises KeyError for an unknown service."""
    return ExternalService(
        name,
        policy_for(
            name,
            timeout=settings.timeout_for(name),
            fail_max=settings.breaker_fail_max,
            reset_timeout=settings.breaker_reset_seconds,
        ),
        redis_url=settings.redis_url,
        budget_usd=settings.cost_budgets_usd.get(name),
    )
