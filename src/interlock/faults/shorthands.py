"""A proxy's toxic shorthands: ``proxy.latency(ms=100)`` is ``proxy.toxic("latency", latency=100)``.

Each acts when called and returns the ``Applied`` handle of ``toxic``; see
:mod:`interlock.faults.toxics` for every attribute's unit and the options all share.
"""

from __future__ import annotations

import abc
from typing import Any, Unpack

from interlock.faults.applied import Applied
from interlock.faults.toxics import Toxic, ToxicOptions

__all__ = ["ToxicShorthands"]


class ToxicShorthands(abc.ABC):
    """One method a toxic type, each a call of ``toxic`` with that type's attributes."""

    @abc.abstractmethod
    def toxic(self, type: str, **options: Any) -> Applied[Toxic]:
        """Add a toxic of ``type`` now; defined by the class that has these shorthands."""

    def latency(
        self, ms: float, jitter: float = 0, **options: Unpack[ToxicOptions]
    ) -> Applied[Toxic]:
        """Delay each chunk by ``ms`` (± ``jitter``) milliseconds, from its arrival."""
        return self.toxic("latency", latency=ms, jitter=jitter, **options)

    def bandwidth(self, rate: float, **options: Unpack[ToxicOptions]) -> Applied[Toxic]:
        """``rate`` in KB/s, 1 KB = 1000 bytes."""
        return self.toxic("bandwidth", rate=rate, **options)

    def slow_close(self, ms: float, **options: Unpack[ToxicOptions]) -> Applied[Toxic]:
        """Delay the end of the stream by ``ms`` milliseconds."""
        return self.toxic("slow_close", delay=ms, **options)

    def timeout(self, ms: float = 0, **options: Unpack[ToxicOptions]) -> Applied[Toxic]:
        """Hold the data; close the connection after ``ms`` (0: hold until removed)."""
        return self.toxic("timeout", timeout=ms, **options)

    def reset_peer(self, ms: float = 0, **options: Unpack[ToxicOptions]) -> Applied[Toxic]:
        """Hold the data; after ``ms``, reset the connection (the peer sees ECONNRESET)."""
        return self.toxic("reset_peer", timeout=ms, **options)

    def slicer(
        self,
        average_size: int,
        size_variation: int = 0,
        delay_us: float = 0,
        **options: Unpack[ToxicOptions],
    ) -> Applied[Toxic]:
        """Cut the stream into pieces of ``average_size`` ± ``size_variation`` bytes."""
        return self.toxic(
            "slicer",
            average_size=average_size,
            size_variation=size_variation,
            delay=delay_us,
            **options,
        )

    def limit_data(self, bytes: int, **options: Unpack[ToxicOptions]) -> Applied[Toxic]:
        """Close the connection once ``bytes`` bytes have passed in the direction."""
        return self.toxic("limit_data", bytes=bytes, **options)
