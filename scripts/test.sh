#!/usr/bin/env bash
# The whole suite. PostgreSQL tests use FITROOM_TEST_POSTGRES_URL (the local server by default)
# and skip with a one-line reason when it is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
export FITROOM_TEST_POSTGRES_URL=${FITROOM_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
exec .venv/bin/pytest "$@"
