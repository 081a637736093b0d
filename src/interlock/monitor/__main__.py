"""``python -m interlock.monitor``: the monitor command on its own."""

from __future__ import annotations

import sys

from interlock.monitor.cli import main

sys.exit(main())
