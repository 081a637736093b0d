"""Data for iterations: each iteration takes the next row of a feeder (CSV file or generated)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

__all__ = ["CsvFeeder", "Feeder", "GeneratedFeeder"]


class Feeder(Protocol):
    """Gives the row for the next iteration."""

    def next_row(self) -> Any: ...


class CsvFeeder:
    """Rows of a CSV file with a header line, as dicts, cycling forever.

    The file is read once (its rows stay in memory); raises ValueError when it has no rows.
    """

    def __init__(self, path: str | Path) -> None:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            self.rows: list[dict[str, str]] = list(csv.DictReader(handle))
        if not self.rows:
            raise ValueError(f"{path}: no data rows under the header")
        self._cycle: Iterator[dict[str, str]] = itertools.cycle(self.rows)

    def next_row(self) -> dict[str, str]:
        return next(self._cycle)


class GeneratedFeeder:
    """Rows made by ``make(i)`` for i = 0, 1, 2, ... (e.g. unique e-mail addresses)."""

    def __init__(self, make: Callable[[int], Any], *, start: int = 0) -> None:
        self._make = make
        self._counter = itertools.count(start)

    def next_row(self) -> Any:
        return self._make(next(self._counter))
