"""The scan of a run's files for credentials."""

from __future__ import annotations

import hashlib
import random
import uuid
from pathlib import Path

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


# Stripe's published test cards, one per brand and length
STRIPE_TEST_CARDS = [
    "4242424242424242",  # Visa
    "4000056655665556",  # Visa debit
    "5555555555554444",  # Mastercard
    "2223003122003222",  # Mastercard 2-series
    "5200828282828210",  # Mastercard debit
    "378282246310005",  # American Express, 15 digits
    "6011111111111117",  # Discover
    "6555900000604105",  # Discover
    "3056930009020004",  # Diners Club
    "36227206271667",  # Diners Club, 14 digits
    "3566002020360505",  # JCB
    "6200000000000005",  # UnionPay
    "6205500000000000004",  # UnionPay, 19 digits
]


def _grouped(number: str, separator: str) -> str:
    sizes = {14: (4, 6, 4), 15: (4, 6, 5)}.get(len(number), (4, 4, 4, 4, 3))
    groups, rest = [], number
    for size in sizes:
        groups.append(rest[:size])
        rest = rest[size:]
    return separator.join(group for group in groups if group)


@pytest.mark.parametrize("separator", ["", " ", "-"])
@pytest.mark.parametrize("number", STRIPE_TEST_CARDS)
def test_card_numbers_are_found_however_they_are_grouped(number, separator):
    written = _grouped(number, separator)
    for line in (
        written,
        f"charged card {written}.",
        f'{{"number":"{written}"}}',
        f"pan={written}&x=1",
    ):
        assert [leak.kind for leak in scan_text(line, "log")] == ["card-number"], line


def test_random_uuids_are_never_card_numbers():
    rng = random.Random(20261130)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(100_000)]
    text = "\n".join(f"order {value} created" if n % 2 else value for n, value in enumerate(ids))
    assert scan_text(text, "app.log") == []


def test_digits_inside_a_longer_token_are_not_a_card_number():
    # Each holds a Luhn-valid Visa run joined to a longer token by letters, a dash or a dot.
    card = "4242424242424242"
    for token in (
        f"a{card}",
        f"{card}f",
        f"req-{card}",
        f"{card}-7",
        f"v1.{card}",
        f"{card}.5",
        f"51569088-{card[:4]}-{card[4:8]}-{card[8:12]}-{card[12:]}00000000",
        f"{card[:4]}-{card[4:8]}-{card[8:12]}-{card[12:]}-000000000000",
        f"{card[:4]} {card[4:8]}-{card[8:12]} {card[12:]}",  # mixed separators
    ):
        assert scan_text(token, "log") == [], token


def test_random_hex_digests_are_never_card_numbers():
    rng = random.Random(7)
    digests = [hashlib.sha256(rng.randbytes(16)).hexdigest() for _ in range(20_000)]
    assert scan_text("\n".join(digests), "log") == []


def test_known_values_are_found_and_the_report_does_not_repeat_them(tmp_path):
    (tmp_path / "app.log").write_text("ok\nlogin admin with hunter2-password\n")
    nested = tmp_path / "sub"
    nested.mkdir()
    (nested / "junit.xml").write_text("<x>clean</x>")
    leaks = scan_for_secrets([tmp_path], known=["hunter2-password", "short"])
    assert [(leak.line, leak.kind) for leak in leaks] == [(2, "known-secret")]
    assert "hunter2-password" not in str(leaks[0])
    assert str(leaks[0]).startswith(str(tmp_path / "app.log") + ":2:")


def test_paths_may_be_str_or_path_one_or_many(tmp_path):
    (tmp_path / "app.log").write_text("card 4242 4242 4242 4242\n")
    for paths in (
        str(tmp_path),
        [str(tmp_path)],
        tmp_path,
        [tmp_path / "app.log"],
        (str(tmp_path),),
    ):
        leaks = scan_for_secrets(paths)
        assert [(Path(leak.where).name, leak.kind) for leak in leaks] == [
            ("app.log", "card-number")
        ]


def test_one_known_value_given_as_a_str_is_looked_for(tmp_path):
    (tmp_path / "app.log").write_text("login admin with hunter2-password\n")
    assert [leak.kind for leak in scan_for_secrets(tmp_path, known="hunter2-password")] == [
        "known-secret"
    ]
    assert [
        leak.kind for leak in scan_text("x hunter2-password", "log", known="hunter2-password")
    ] == ["known-secret"]


def test_a_scan_of_no_paths_raises_rather_than_passing():
    with pytest.raises(FileNotFoundError):
        scan_for_secrets([])


def test_a_scan_of_a_missing_path_raises_rather_than_passing(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_for_secrets([tmp_path / "nope"])
