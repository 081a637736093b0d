"""``python -m interlock.simulators``: see interlock.simulators.host."""

from interlock.simulators.host import main

raise SystemExit(main())
