"""One redaction helper: a password never survives, however the URL is written."""

from __future__ import annotations

import pytest

from interlock.stack.redaction import redact, redact_text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://me:s3cret@h/db", "postgresql://me:***@h/db"),
        ("postgresql://me:p@ss:w/rd@h:5432/db", "postgresql://me:***@h:5432/db"),
        ("postgresql://me:s3cret@h:notaport/db", "postgresql://me:***@h:notaport/db"),
        ("postgresql://me@h/db", "postgresql://me@h/db"),
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_redact_masks_the_password_only(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_redact_text_masks_every_url_in_a_command_line() -> None:
    text = "app --db postgresql://u:one@h/x --cache=redis://:two@h:1/0 --name plain"
    assert redact_text(text) == (
        "app --db postgresql://u:***@h/x --cache=redis://:***@h:1/0 --name plain"
    )
