"""Credentials never reach the log: the server logs each WebSocket URL, ``?token=`` and all."""

from __future__ import annotations

import logging
import re

__all__ = ["RedactCredentials", "redact_server_logs"]

# a query parameter that carries a credential, up to the next separator
_CREDENTIAL = re.compile(
    r"([?&](?:token|access_token|api_key|apikey|key|password|secret)=)[^&\s\"']+", re.IGNORECASE
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


class RedactCredentials(logging.Filter):
    """Rewrites a record's message with every credential replaced by ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _BEARER.sub(r"\1***", _CREDENTIAL.sub(r"\1***", message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_server_logs() -> None:
    """Install the filter on the loggers uvicorn writes requests to (idempotent)."""
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn", "wms"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
