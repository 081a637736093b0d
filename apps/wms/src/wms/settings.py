"""WMS settings, from ``WMS_*`` environment variables."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["MIN_SECRET_LENGTH", "TIMED_SERVICES", "Settings", "SettingsError", "get_settings"]

#: the external services with a timeout of their own (``WMS_<SERVICE>_TIMEOUT_S``)
TIMED_SERVICES = (
    "stripe",
    "samsara",
    "twilio",
    "sendgrid",
    "mapbox",
    "google",
    "airtable",
    "virustotal",
    "abuseipdb",
    "misp",
    "greynoise",
    "otx",
)

#: shortest signing or encryption secret WMS starts with, characters (256 bits of hex)
MIN_SECRET_LENGTH = 32
# secrets that were ever shipped as defaults or in examples: anyone can forge with them
_KNOWN_SECRETS = frozenset(
    {
        "change-me-in-production-0123456789",
        "changeme",
        "change-me",
        "secret",
        "your-secret-key",
        "supersecret",
    }
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WMS_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/wms"
    redis_url: str = "redis://127.0.0.1:6379/0"
    migrate_on_start: bool = True
    #: publish outbox events from the API process too (when no worker runs)
    relay_in_api: bool = True
    #: events each channel's live stream keeps (roughly), for WebSocket hubs that lost Redis
    #: for a while; a hub cut off for longer than that many events misses the oldest
    live_stream_maxlen: int = Field(default=10_000, ge=1)
    #: how long start-up waits for PostgreSQL and Redis to accept connections
    dependency_wait_seconds: float = 20.0

    #: signs access tokens (HS256); required, no default: a known one lets anyone forge an admin
    jwt_secret: SecretStr
    #: encrypts the providers' API keys at rest; required and distinct from jwt_secret, so
    #: a leaked signing key does not open the stored keys (and vice versa)
    encryption_key: SecretStr
    jwt_issuer: str = "wms"
    jwt_audience: str = "wms-api"
    token_ttl_seconds: int = 3600
    #: failed logins allowed per account and per client address within the window;
    #: past either, logins are refused with 429 until the window ends
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=20, ge=1)
    login_window_seconds: float = Field(default=300.0, gt=0)
    #: client addresses without a per-client limit (e.g. a gateway all users come through)
    login_unthrottled_clients: list[str] = Field(default_factory=list)
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None
    #: where providers reach this WMS (e.g. https://wms.example.com): Twilio reports each
    #: SMS's delivery there; empty, no delivery reports are asked for
    public_url: str = ""
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
    #: seconds a replaced API key stays usable, so that a rotation fails no call
    key_rotation_overlap_seconds: float = 3600.0
    #: daily spend per service in USD; alerts at 50, 80 and 100 % (e.g. {"twilio": 5})
    cost_budgets_usd: dict[str, float] = Field(default_factory=dict)
    #: seconds an external call may take before it is abandoned
    external_timeout_seconds: float = Field(default=5.0, gt=0)
    #: seconds one service's calls may take, in place of external_timeout_seconds
    #: (``WMS_<SERVICE>_TIMEOUT_S``, e.g. WMS_SENDGRID_TIMEOUT_S=30); unset, the default
    stripe_timeout_s: float | None = Field(default=None, gt=0)
    samsara_timeout_s: float | None = Field(default=None, gt=0)
    twilio_timeout_s: float | None = Field(default=None, gt=0)
    sendgrid_timeout_s: float | None = Field(default=None, gt=0)
    mapbox_timeout_s: float | None = Field(default=None, gt=0)
    google_timeout_s: float | None = Field(default=None, gt=0)
    airtable_timeout_s: float | None = Field(default=None, gt=0)
    virustotal_timeout_s: float | None = Field(default=None, gt=0)
    abuseipdb_timeout_s: float | None = Field(default=None, gt=0)
    misp_timeout_s: float | None = Field(default=None, gt=0)
    greynoise_timeout_s: float | None = Field(default=None, gt=0)
    otx_timeout_s: float | None = Field(default=None, gt=0)

    # -- waste-collection operations: routes, GPS tracking, the Airtable mirror -----------
    #: how often the worker asks Samsara where the trucks are
    gps_poll_interval_seconds: float = 1.0
    #: a standing truck's position is stored again (and its ETAs redone) this often
    gps_still_seconds: float = 60.0
    #: how often ETAs are checked when no new GPS fix wakes them
    eta_interval_seconds: float = 5.0
    #: hour of the day (UTC) when routes leave their depots (7.5 is 07:30), and the time
    #: a crew spends at each stop
    route_start_hour: float = Field(default=7.0, ge=0, lt=24)
    stop_service_seconds: float = 120.0
    #: how far from the address a driver's proof of collection may have been taken
    proof_max_distance_m: float = 500.0
    airtable_pickups_table: str = "Pickups"
    airtable_routes_table: str = "Routes"
    #: requests a second the mirror sends to the base (Airtable allows 5)
    airtable_requests_per_second: float = 4.0
    #: how long Airtable refuses a base after a 429
    airtable_penalty_seconds: float = 30.0
    airtable_sync_interval_seconds: float = 1.0

    # -- security monitoring: the five threat-intelligence feeds --------------------------
    #: a feed without a key is left out of every verdict (reported as "disabled")
    virustotal_api_key: SecretStr = SecretStr("")
    abuseipdb_api_key: SecretStr = SecretStr("")
    misp_api_key: SecretStr = SecretStr("")
    greynoise_api_key: SecretStr = SecretStr("")
    otx_api_key: SecretStr = SecretStr("")
    #: check MISP's TLS certificate (turn off only for a lab instance with a self-signed one)
    misp_verify_ssl: bool = True
    #: seconds a feed's answer about an IP is reused; the feeds' quotas are tight
    security_verdict_ttl_seconds: float = Field(default=3600.0, gt=0)

    # -- coordination: configuration propagation and the worker's health endpoint ---------
    #: seconds between two checks of the active configuration version by each process (a
    #: change is also announced on Redis at once; the check catches a missed announcement)
    config_recheck_seconds: float = Field(default=5.0, gt=0)
    #: port of the worker's health endpoint on 127.0.0.1; 0 serves none
    worker_health_port: int = Field(default=0, ge=0, le=65535)

    # -- coordination: error orchestration and performance (wms.coordination) -------------
    #: errors a second of one source that count as a breach (the forecaster's threshold)
    error_breach_per_second: float = Field(default=5.0, gt=0)
    #: median latency (ms) of the worker's database probes past which it is degraded
    database_degraded_ms: float = Field(default=150.0, gt=0)

    @field_validator("jwt_secret", "encryption_key")
    @classmethod
    def _strong(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        if secret.lower() in _KNOWN_SECRETS:
            raise ValueError("is a publicly known value")
        return value

    def model_post_init(self, context: object, /) -> None:
        if self.jwt_secret.get_secret_value() == self.encryption_key.get_secret_value():
            raise ValueError("WMS_ENCRYPTION_KEY must differ from WMS_JWT_SECRET")

    def timeout_for(self, service: str) -> float:
        """Seconds one call of ``service`` (e.g. ``"sendgrid"``) may take before it is
        abandoned: its own ``WMS_<SERVICE>_TIMEOUT_S``, else ``WMS_EXTERNAL_TIMEOUT_SECONDS``.

        Raises KeyError for a service WMS does not call (a typo must not fall back silently).
        """
        if service not in TIMED_SERVICES:
            raise KeyError(f"no external service {service!r}; have {', '.join(TIMED_SERVICES)}")
        own: float | None = getattr(self, f"{service}_timeout_s")
        return self.external_timeout_seconds if own is None else own


class SettingsError(SystemExit):
    """WMS cannot start with these settings: exit code 2, ``message`` is one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment.

    Raises SettingsError (a SystemExit with code 2 whose message is one line naming the
    variables at fault) on a missing, short or publicly known secret, any invalid value, or
    a ``WMS_<SERVICE>_TIMEOUT_S`` naming no service (a misspelt timeout would otherwise
    be ignored, and the default applied without a word).
    """
    try:
        unknown = _unknown_timeouts(os.environ)
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} names no external service "
                f"(WMS_<SERVICE>_TIMEOUT_S with SERVICE one of {', '.join(TIMED_SERVICES)})"
            )
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
    except ValueError as exc:
        problems = str(exc)
    message = f"wms: refusing to start: {problems}"
    # the process ends here: this line is all an operator sees, so it goes out first
    print(message, file=sys.stderr)
    raise SettingsError(message)


def _problem(error: Mapping[str, Any]) -> str:
    reason = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return reason
    name = "WMS_" + "_".join(str(part) for part in error["loc"]).upper()
    return f"{name} is not set" if error["type"] == "missing" else f"{name} {reason}"


def _unknown_timeouts(environ: Mapping[str, str]) -> list[str]:
    known = {f"WMS_{service.upper()}_TIMEOUT_S" for service in TIMED_SERVICES}
    return sorted(
        name
        for name in environ
        if name.upper().startswith("WMS_")
        and name.upper().endswith("_TIMEOUT_S")
        and name.upper() not in known
    )
