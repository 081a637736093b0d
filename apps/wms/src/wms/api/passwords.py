"""Password work off the event loop: hashing takes ~50 ms of CPU, so it runs in a
separate process at a low CPU priority, one at a time, and an unknown e-mail costs
the same as a known one.

A thread would keep the loop free but not the core: on a small host the hashes of a
password-guessing crowd would still slow every other request. At a low priority the hashing
process gets mostly the CPU the API leaves over, so guessing slows guessing, not the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from wms.errors import InvalidInput
from wms.security import COMMON_PASSWORDS, hash_password, verify_password

__all__ = ["check_password", "hashing", "new_password_hash"]

T = TypeVar("T")

#: hashes computed at once per API process; more callers wait their turn
CONCURRENT_HASHES = 1
#: the hashing process's niceness: well below the API's, short of starving it on a busy host
HASH_NICENESS = 10
_slots = asyncio.Semaphore(CONCURRENT_HASHES)
_pool: ProcessPoolExecutor | None = None


def _lower_priority() -> None:
    os.nice(HASH_NICENESS)


def _hasher() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn, not fork: the API process has threads (and a running loop) to not copy
        _pool = ProcessPoolExecutor(
            max_workers=CONCURRENT_HASHES,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_lower_priority,
        )
    return _pool


@contextlib.asynccontextmanager
async def hashing() -> AsyncIterator[None]:
    """The hashing process, started (and its modules imported) before the first login
    and stopped on exit. Started lazily instead, the first login of a guessing crowd
    would pay for a new interpreter at full priority (the niceness is set only once it
    runs), competing with the API for the CPU for the better part of a second."""
    global _pool
    await _run(os.getpid)
    try:
        yield
    finally:
        pool, _pool = _pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


async def _run(fn: Callable[..., T], *args: object) -> T:
    async with _slots:
        return await asyncio.get_running_loop().run_in_executor(_hasher(), fn, *args)


# verified against when the e-mail is unknown, so its answer takes as long as a known one's
_DUMMY_HASH = hash_password("no user has this password; it only costs time")


async def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such user, always False after
    the same work as a real check)."""
    ok = await _run(verify_password, password, stored or _DUMMY_HASH)
    return ok and stored is not None


async def new_password_hash(password: str) -> str:
    """The stored form of a new password. Raises InvalidInput for a common one."""
    if password in COMMON_PASSWORDS:
        raise InvalidInput("this password is among the most common ones", code="weak_password")
    return await _run(hash_password, password)
