"""The scan of a run's files for credentials."""

from __future__ import annotations

import pytest

from interlock.security import scan_for_secrets, scan_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSIsInJvbGUiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (f"Authorization: Bearer {JWT}", "jwt"),
        ('"WebSocket /ws?token=abcdefgh12345" [accepted]', "credential-in-url"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private-key"),
        ("using sk_test_4eC39HqLyjWDarjtT1zdp7dc", "stripe-secret-key"),
        ("card 4242 4242 4242 4242 charged", "card-number"),
        ("pan=378282246310005", "card-number"),
    ],
)
def test_each_kind_of_secret_is_found(line, kind):
    assert [leak.kind for leak in scan_text(line, "log")] == [kind]


@pytest.mark.parametrize(
    "line",
    [
        "GET /ws 101 token=***",
        "took 1764456000000 ms",  # a timestamp is not a card
        "4242424242424241",  # fails Luhn
        "id 550e8400-e29b-41d4-a716-446655440000",
    ],
)
def test_ordinary_lines_are_clean(line):
    assert scan_text(line, "log") == []


def test_known_values_are_found_and_the_report_does_not_repeat_them(tmp_path):
    (tmp_path / "app.log").write_text("ok\nlogin admin with hunter2-password\n")
    nested = tmp_path / "sub"
    nested.mkdir()
    (nested / "junit.xml").write_text("<x>clean</x>")
    leaks = scan_for_secrets([tmp_path], known=["hunter2-password", "short"])
    assert [(leak.line, leak.kind) for leak in leaks] == [(2, "known-secret")]
    assert "hunter2-password" not in str(leaks[0])
    assert str(leaks[0]).startswith(str(tmp_path / "app.log") + ":2:")


def test_a_scan_of_a_missing_path_raises_rather_than_passing(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_for_secrets([tmp_path / "nope"])
