#!/usr/bin/env bash
# The Citus test group: build and install Citus when missing (build.sh), start the local cluster (cluster.sh), then
# run tests/citus against its coordinator. Arguments go to pytest. SHOUHU_PYTHON: the interpreter with the test
# extras (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."

PY="${SHOUHU_PYTHON:-.venv/bin/python}"
bash deploy/citus/build.sh
PORT="${CITUS_PORT:-9700}"
bash deploy/citus/cluster.sh start
# An empty database on every node for the migrations' test, made afresh each run.
for port in "$PORT" "$((PORT + 1))" "$((PORT + 2))"; do
  dropdb -h 127.0.0.1 -p "$port" -U postgres --if-exists --force shouhu_migrations
done
CITUS_DB=shouhu_migrations bash deploy/citus/cluster.sh start
export SHOUHU_TEST_CITUS_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/${CITUS_DB:-shouhu}"
export SHOUHU_TEST_CITUS_EMPTY_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/shouhu_migrations"
exec "$PY" -m pytest tests/citus "$@"
