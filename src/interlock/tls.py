"""The TLS context Interlock's HTTP clients share.

httpx builds a context for every client and every transport (certifi's certificates
loaded, ~30 ms of CPU each); a test session makes dozens of clients, nearly all of them
for plain HTTP to local processes. One context, built on first use, serves them all:
``ssl.SSLContext`` may be shared between connections and threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["shared_tls"]


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """httpx's default context (``verify=True``, certifi's CAs, SSL_CERT_FILE honoured)."""
    return httpx.create_ssl_context()
