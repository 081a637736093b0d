"""Per-service timeouts: one service's own ``WMS_<SERVICE>_TIMEOUT_S`` over the default."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from wms.integrations.messaging import Email, Sms
from wms.integrations.payments import Payments
from wms.settings import SettingsError, get_settings


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Only the variables a test sets (and the two required secrets); no Redis to reach."""
    for name in list(os.environ):
        if name.upper().startswith("WMS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WMS_JWT_SECRET", "a-proper-secret-of-forty-characters-0123")
    monkeypatch.setenv("WMS_ENCRYPTION_KEY", "another-proper-secret-of-forty-chars-987")
    monkeypatch.setenv("WMS_REDIS_URL", "")  # breakers in memory: nothing to connect to
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_a_service_timeout_replaces_the_default_for_that_service_alone(
    environ: pytest.MonkeyPatch,
) -> None:
    environ.setenv("WMS_EXTERNAL_TIMEOUT_SECONDS", "2")
    environ.setenv("WMS_SENDGRID_TIMEOUT_S", "30")
    settings = get_settings()
    email = Email(settings)
    # the resilience layer abandons the call, and the SDK waits, as long as SendGrid's own
    assert email.service.policy.timeout == 30
    assert email.timeout == 30
    assert Sms(settings).service.policy.timeout == 2
    assert Payments(settings).service.policy.timeout == 2
    assert settings.timeout_for("sendgrid") == 30
    with pytest.raises(KeyError, match="no external service 'sendgird'"):
        settings.timeout_for("sendgird")


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WMS_SENDGRID_TIMEOUT_S", "0", "WMS_SENDGRID_TIMEOUT_S Input should be greater than 0"),
        ("WMS_STRIPE_TIMEOUT_S", "soon", "WMS_STRIPE_TIMEOUT_S Input should be a valid number"),
        ("WMS_SENDGRD_TIMEOUT_S", "30", "WMS_SENDGRD_TIMEOUT_S names no external service"),
        ("WMS_EXTERNAL_TIMEOUT_SECONDS", "-1", "WMS_EXTERNAL_TIMEOUT_SECONDS Input should be"),
    ],
    ids=["zero", "not-a-number", "misspelt-service", "negative-default"],
)
def test_a_bad_timeout_refuses_to_start_with_one_line(
    environ: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    says: str,
) -> None:
    environ.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert refused.value.code == 2
    assert says in refused.value.message
    assert capsys.readouterr().err == refused.value.message + "\n"  # one line, no traceback
