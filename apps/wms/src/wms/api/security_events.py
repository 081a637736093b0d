"""Refusals an operator must hear of, as security events: audited, and published on the
``security`` channel through the outbox.

Every refusal a caller can provoke at will (a forged token, an unsigned webhook, a login
past its throttle) is reported at most once a minute (``security_quiet_seconds`` of the
runtime configuration) per kind and client, so that a flood of them costs the
database one row a minute, not one a request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from wms.api.deps import Services
from wms.coordination.configuration import WMSConfiguration
from wms.coordination.security_stream import first_in_window
from wms.db.models import AuditEntry
from wms.events import emit

__all__ = ["REFUSALS", "report_refusal", "security_event"]

log = logging.getLogger("wms.security")

#: error code -> the security event it is reported as
REFUSALS: dict[str, str] = {
    "invalid_token": "security.token_refused",
    "token_expired": "security.token_refused",
    "token_revoked": "security.token_refused",
    "invalid_signature": "security.webhook_refused",
    "invalid_payload": "security.webhook_refused",
    "invalid_webhook": "security.webhook_refused",
    "websocket_origin": "security.websocket_refused",
    "websocket_token": "security.websocket_refused",
    "login_throttled": "security.login_throttled",
}
_pending: set[asyncio.Task[None]] = set()


async def security_event(svc: Services, type_: str, *, actor: str, details: dict[str, Any]) -> None:
    """Audit ``type_`` (``security.*``) and publish it on the security channel."""
    async with svc.sessions() as session, session.begin():
        session.add(
            AuditEntry(actor=actor, action=type_.removeprefix("security."), details=details)
        )
        await emit(session, "security", type_, details)
    svc.wake_relay()


def report_refusal(svc: Services, code: str, *, client: str, path: str) -> None:
    """Report a refusal with error ``code`` (one of REFUSALS; others are ignored) from
    ``client`` on ``path``, in the background: the refusal itself never waits for the
    database, and a failure to report is logged, not raised."""
    type_ = REFUSALS.get(code)
    if type_ is None:
        return
    task = asyncio.create_task(_report(svc, type_, code=code, client=client, path=path))
    _pending.add(task)  # a task nobody references may be collected before it runs
    task.add_done_callback(_pending.discard)


async def _report(svc: Services, type_: str, *, code: str, client: str, path: str) -> None:
    try:
        # kept while Redis is down: the event waits in the outbox until Redis is back
        # the runtime configuration says how long one kind of refusal from one client is
        # reported once (a minute unless changed)
        config = WMSConfiguration() if svc.config is None else svc.config.current
        quiet = config.security_quiet_seconds
        first = await first_in_window(svc.redis, f"wms:security-reported:{type_}:{client}", quiet)
        if first:
            details = {"client": client, "path": path, "code": code}
            await security_event(svc, type_, actor=client, details=details)
    except Exception as exc:
        log.warning("could not report %s from %s: %s", type_, client, exc)
