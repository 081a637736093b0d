"""A scan of a run's logs and artifacts for credentials that must never be written down.

What it finds: JWTs, credentials in URL query strings (``?token=``, ``api_key=``, ...),
PEM private keys, Stripe secret keys, payment card numbers (Luhn-valid, of the major
brands) and any value the caller names (the project's own secrets and passwords).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import final

__all__ = ["Leak", "scan_for_secrets", "scan_text"]

#: shortest named value worth looking for: shorter ones match by accident
MIN_KNOWN_LENGTH = 8
#: files bigger than this are read in their first part only, bytes
MAX_FILE_BYTES = 64 * 1024 * 1024

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jwt", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    (
        "credential-in-url",
        re.compile(
            r"[?&](?:token|access_token|api_key|apikey|key|password|secret)=[^&\s\"'<>]{8,}",
            re.IGNORECASE,
        ),
    ),
    ("private-key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("stripe-secret-key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}")),
)
# A card number as it is written: 13-19 digits in one run, or grouped 4-4-4-4(-3) or
# 4-6-4/4-6-5 (Amex, Diners) by one kind of separator used throughout. It must stand
# alone: a digit run inside a longer token (a UUID's segments, a hex digest, an id like
# ``req-4242...``) is part of that token, not a card, whatever Luhn says of it.
_CARD = re.compile(
    r"(?<!\w)(?<!\w[-.])"
    r"(?:[0-9]{13,19}"
    r"|[0-9]{4}(?P<sep>[ -])[0-9]{4}(?P=sep)[0-9]{4}(?P=sep)[0-9]{4}(?:(?P=sep)[0-9]{3})?"
    r"|[0-9]{4}(?P<sep2>[ -])[0-9]{6}(?P=sep2)[0-9]{4,5})"
    r"(?!\w)(?![-.]\w)"
)
# Issuer prefixes (ISO/IEC 7812 IINs) of the brands a payment provider accepts: Visa,
# Mastercard (51-55, 2221-2720), Amex, Discover, Diners, JCB and UnionPay. A Luhn-valid
# run with another prefix (a timestamp, an order number) is not a card.
_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)|3[47]|6011|64[4-9]|65"
    r"|30[0-5]|3[689]|35|62"
)


@final
@dataclass(frozen=True, kw_only=True)
class Leak:
    """One finding: ``where`` (file path, or a label), 1-based ``line``, ``kind`` of
    secret and ``excerpt`` (its first characters only, so the report leaks nothing)."""

    where: str
    line: int
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.kind} {self.excerpt}"


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card_number(digits: str) -> bool:
    return _CARD_PREFIX.match(digits) is not None and _luhn(digits)


def _redact(secret: str) -> str:
    return secret[:4] + "..."


def scan_text(text: str, where: str, *, known: str | Iterable[str] = ()) -> list[Leak]:
    """The leaks in ``text`` (reported as coming from ``where``); ``known`` (one value or
    several) must not appear anywhere (shorter than MIN_KNOWN_LENGTH characters are
    ignored)."""
    # one str is one value: its characters, each too short to look for, would find nothing
    given = [known] if isinstance(known, str) else known
    values = sorted({v for v in given if len(v) >= MIN_KNOWN_LENGTH}, key=len, reverse=True)
    leaks: list[Leak] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in _PATTERNS:
            leaks.extend(
                Leak(where=where, line=number, kind=kind, excerpt=_redact(m.group()))
                for m in pattern.finditer(line)
            )
        leaks.extend(
            Leak(where=where, line=number, kind="card-number", excerpt="****")
            for match in _CARD.finditer(line)
            if _is_card_number(re.sub(r"[ -]", "", match.group()))
        )
        leaks.extend(
            Leak(where=where, line=number, kind="known-secret", excerpt=_redact(value))
            for value in values
            if value in line
        )
    return leaks


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def scan_for_secrets(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    known: str | Iterable[str] = (),
) -> list[Leak]:
    """Every leak in the files under ``paths``: one path or several (``str`` or
    ``Path``; files or folders, searched recursively; binary content is read as text
    with replacement characters).

    Raises FileNotFoundError when a path does not exist: a scan of nothing must not pass.
    """
    # One str is one path, never an iterable of one-character paths ("/" among them).
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    roots = [Path(path) for path in given]
    if not roots:
        raise FileNotFoundError("nothing to scan: no paths given")
    for root in roots:
        if not root.exists():
            raise FileNotFoundError(f"nothing to scan at {root}")
    values = [known] if isinstance(known, str) else list(known)
    leaks: list[Leak] = []
    for file in _files(roots):
        with file.open("rb") as handle:
            text = handle.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
        leaks.extend(scan_text(text, str(file), known=values))
    return leaks
