"""The command line both OpenAPI trimming scripts share: read a spec, print it trimmed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def main(argv: list[str], trim: Callable[[dict[str, Any]], dict[str, Any]], usage: str) -> int:
    """``argv``: the script's; prints ``trim(spec)`` as JSON; 2 with ``usage`` on bad use."""
    if len(argv) != 2:
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    json.dump(trim(spec), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0
