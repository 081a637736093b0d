"""Password work off the event loop: hashing takes ~50 ms of CPU, so it runs in a thread,
a few at a time, and an unknown e-mail costs the same as a known one."""

from __future__ import annotations

import asyncio

from wms.errors import InvalidInput
from wms.security import COMMON_PASSWORDS, hash_password, verify_password

__all__ = ["check_password", "new_password_hash"]

#: hashes computed at once per process; more callers wait their turn (and the loop,
#: serving everyone else, keeps a core to itself on a two-core host)
CONCURRENT_HASHES = 1
_slots = asyncio.Semaphore(CONCURRENT_HASHES)
# verified against when the e-mail is unknown, so its answer takes as long as a known one's
_DUMMY_HASH = hash_password("no user has this password; it only costs time")


async def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such user, always False after
    the same work as a real check)."""
    async with _slots:
        ok = await asyncio.to_thread(verify_password, password, stored or _DUMMY_HASH)
    return ok and stored is not None


async def new_password_hash(password: str) -> str:
    """The stored form of a new password. Raises InvalidInput for a common one."""
    if password in COMMON_PASSWORDS:
        raise InvalidInput("this password is among the most common ones", code="weak_password")
    async with _slots:
        return await asyncio.to_thread(hash_password, password)
