"""Command-line value types (argparse ``type=``) that more than one command parses.

Shared by ``interlock``'s own commands and by those that bring their own parser
(``interlock monitor``), so that one value is refused with the same sentence everywhere.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["seconds"]


def seconds(text: str) -> float:
    """A duration in seconds, finite and above 0 (``"0.5"`` → 0.5).

    Raises argparse.ArgumentTypeError ("expected seconds above 0, got '-1'"), which the
    parser reports as one line naming the option.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected seconds above 0, got {text!r}")
    return value
