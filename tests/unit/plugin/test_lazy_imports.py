"""A session loads the parts of Interlock its tests use: the load engine only for ``load``."""

from __future__ import annotations

CONFIG = "[tool.interlock]\npostgres = false\nredis = false\n"


def test_a_session_without_load_tests_never_imports_the_load_engine(pytester):
    pytester.makepyprojecttoml(CONFIG)
    pytester.makepyfile(
        """
        import sys

        def test_plain():
            assert "interlock.plugin.load" in sys.modules  # the plugin is there ...
            assert "interlock.load.engine" not in sys.modules  # ... its engine is not
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
