"""``python -m interlock.load SCENARIO [options]``: the load command on its own."""

from __future__ import annotations

import argparse
import sys

from interlock.load.cli import configure, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interlock load", description=run.__doc__)
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
