#!/usr/bin/env bash
# Shouhu on a fresh machine:
#   ./dev.sh demo   set up a virtualenv, create a SQLite instance with the Shaoguan tree and demo users, serve it
#   ./dev.sh test   set up the virtualenv with test tools and run the whole test suite (PostgreSQL + Redis, then
#                   the Citus group on a local cluster it builds and starts: deploy/citus/test.sh)
set -euo pipefail
cd "$(dirname "$0")"

VENV="${SHOUHU_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$1"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    if [ "$1" = test ]; then
      "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    else
      "$VENV/bin/python" -m pip install --quiet -e .
    fi
    touch "$stamp"
  fi
}

case "${1:-}" in
  demo)
    shift
    ensure_venv app
    exec "$VENV/bin/shouhu" demo up "$@"
    ;;
  test)
    shift
    ensure_venv test
    "$VENV/bin/ruff" check .
    selected=false
    for arg in "$@"; do [[ "$arg" == -* ]] || selected=true; done
    if $selected; then  # tests named on the command line: just those
      exec "$VENV/bin/python" -m pytest "$@"
    fi
    "$VENV/bin/python" -m pytest "$@"
    # The Citus group: builds Citus when missing and starts the local three-node cluster first.
    SHOUHU_PYTHON="$VENV/bin/python" exec bash deploy/citus/test.sh "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo|test [args]" >&2
    exit 2
    ;;
esac
