#!/usr/bin/env bash
# The seed's entry point, kept for its users: everything it did is `interlock run`, here on
# WMS, the system in this repository.
#   scripts/run-integration-tests.sh [SUITE] [options] [-- pytest args]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exec interlock --project "$here/apps/wms" run "$@"
