"""One way to keep credentials out of the terminal, logs and artifacts: mask URL passwords.

Every place that prints or logs a server URL (a configured one, one in a command line,
one in an error) goes through ``redact``; free text that may hold URLs goes through
``redact_text``. Neither parses strictly, so a malformed URL is masked too.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "redact", "redact_text"]

MASK = "***"

#: ``scheme://user:password@`` — the password is whatever lies between the first ':' of the
#: user info and the last '@' of the word: a malformed password may hold '@', ':' or '/',
#: and masking a little too much is the safe mistake
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<secret>\S*)@")


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``; a URL without one is unchanged.

    Works on malformed URLs too (a bad port, a stray character), since it never parses.
    """
    return redact_text(url)


def redact_text(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it masked."""
    return _USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
