"""Request-limit checks: a body or headers past the limit are refused on the bytes that
arrive, before the application parses them (OWASP API4:2023, unrestricted resource use).

``Content-Length`` is a claim: a chunked body carries none, so a server that counts only
the claim reads and parses any amount. Each check sends the request over a raw socket and
raises CheckFailed with one line when the server lets it through.
"""

from __future__ import annotations

from interlock.security._wire import RawAnswer, raw_request
from interlock.security.outcome import CheckFailed
from interlock.security.settings import MIB, LimitSettings

__all__ = [
    "check_declared_body_refused",
    "check_huge_headers_refused",
    "check_streamed_body_refused",
]


def check_streamed_body_refused(
    app_url: str, path: str, *, total: int = 10 * MIB, timeout: float = 30
) -> RawAnswer:
    """POST ``total`` bytes (10 MiB) to ``path`` chunked, without Content-Length: the
    server must answer 413 while the body is still coming (before it was all read, so
    before it was parsed). Returns the answer; raises CheckFailed otherwise."""
    answer = raw_request(app_url, path, chunked=total, timeout=timeout)
    if answer.status != 413:
        raise CheckFailed(
            f"POST {path} with a streamed {total} B body: {answer.status}, expected 413"
        )
    if answer.sent >= total:
        raise CheckFailed(
            f"POST {path} with a streamed {total} B body: 413 only after the whole body "
            "was read, expected before"
        )
    return answer


def check_declared_body_refused(
    app_url: str, path: str, limits: LimitSettings, *, timeout: float = 30
) -> RawAnswer:
    """Declare one byte more than ``limits.max_body_bytes`` in Content-Length and send
    nothing: the server must answer 413 without waiting for the body. Raises CheckFailed
    otherwise (a server that waits for the body times out)."""
    length = limits.max_body_bytes + 1
    answer = raw_request(app_url, path, head=f"Content-Length: {length}\r\n", timeout=timeout)
    if answer.status != 413:
        raise CheckFailed(f"POST {path} declaring {length} B: {answer.status}, expected 413")
    return answer


def check_huge_headers_refused(
    app_url: str, path: str, limits: LimitSettings, *, size: int = MIB, timeout: float = 30
) -> RawAnswer:
    """Send ``size`` bytes (1 MiB) of headers: the server must answer
    ``limits.header_status`` (431). Raises CheckFailed otherwise."""
    if size <= limits.max_header_bytes:
        raise ValueError(f"{size} B of headers is within the limit of {limits.max_header_bytes}")
    answer = raw_request(app_url, path, head=f"X-Pad: {'a' * size}\r\n", chunked=0, timeout=timeout)
    if answer.status != limits.header_status:
        raise CheckFailed(
            f"POST {path} with {size} B of headers: {answer.status}, "
            f"expected {limits.header_status}"
        )
    return answer
