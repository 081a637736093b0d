"""WMS settings, from ``WMS_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WMS_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/wms"
    redis_url: str = "redis://127.0.0.1:6379/0"
    migrate_on_start: bool = True
    #: publish outbox events from the API process too (when no worker runs)
    relay_in_api: bool = True
    #: how long start-up waits for PostgreSQL and Redis to accept connections
    dependency_wait_seconds: float = 20.0

    jwt_secret: SecretStr = SecretStr("change-me-in-production-0123456789")
    jwt_issuer: str = "wms"
    jwt_audience: str = "wms-api"
    token_ttl_seconds: int = 3600
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None
    ws_allowed_origins: list[str] = Field(default_factory=lambda: ["http://localhost"])
    max_body_bytes: int = 1_000_000

    stripe_api_base: str = "https://api.stripe.com"
    stripe_api_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    sendgrid_api_base: str = "https://api.sendgrid.com"
    sendgrid_api_key: SecretStr = SecretStr("")
    email_from: str = "no-reply@wms.example"
    twilio_api_base: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    sms_from: str = "+15005550006"
    #: hours between a failed payment and each retry of it; then the invoice is uncollectible
    dunning_schedule_hours: list[float] = Field(default_factory=lambda: [24.0, 72.0, 168.0])
    #: how often the worker looks for payments due for a retry
    dunning_interval_seconds: float = 30.0
    samsara_api_base: str = "https://api.samsara.com"
    samsara_api_token: SecretStr = SecretStr("")
    mapbox_api_base: str = "https://api.mapbox.com"
    mapbox_access_token: SecretStr = SecretStr("")
    google_maps_api_base: str = "https://maps.googleapis.com"
    google_maps_api_key: SecretStr = SecretStr("")
    airtable_api_base: str = "https://api.airtable.com"
    airtable_api_token: SecretStr = SecretStr("")
    airtable_base_id: str = ""
    virustotal_api_base: str = "https://www.virustotal.com"
    abuseipdb_api_base: str = "https://api.abuseipdb.com"
    misp_api_base: str = "https://misp.example"
    greynoise_api_base: str = "https://api.greynoise.io"
    otx_api_base: str = "https://otx.alienvault.com"
    #: consecutive failures that open a service's circuit breaker, and seconds until a trial
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 10.0
    #: daily spend per service in USD; alerts at 50, 80 and 100 % (e.g. {"twilio": 5})
    cost_budgets_usd: dict[str, float] = Field(default_factory=dict)
    #: seconds an external call may take before it is abandoned
    external_timeout_seconds: float = 5.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
