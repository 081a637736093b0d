#!/usr/bin/env bash
# The seed's entry point, kept for its users: everything it did is `interlock run`.
#   scripts/run-integration-tests.sh [SUITE] [options] [-- pytest args]
set -euo pipefail
exec interlock run "$@"
