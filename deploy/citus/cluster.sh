#!/usr/bin/env bash
# A local Citus cluster for tests and benchmarks: a coordinator and two workers as extra PostgreSQL clusters on this
# machine, trust authentication on 127.0.0.1 only.
#   cluster.sh start   create (first time) and start the nodes, create the database, register the workers
#   cluster.sh stop    stop the nodes
#   cluster.sh drop    stop and delete the nodes and their data
# CITUS_PORT (default 9700) is the coordinator's port; workers take the next two. CITUS_DB defaults to shouhu.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PORT="${CITUS_PORT:-9700}"
DB="${CITUS_DB:-shouhu}"
NODES=(citus_coord:"$PORT" citus_w1:"$((PORT + 1))" citus_w2:"$((PORT + 2))")

psql_at() { psql -h 127.0.0.1 -p "$1" -U postgres -v ON_ERROR_STOP=1 -qAtX "${@:2}"; }

start() {
  for node in "${NODES[@]}"; do
    name="${node%%:*}"; port="${node##*:}"
    if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$name"; then
      pg_createcluster -q "$PG_MAJOR" "$name" -p "$port" -- --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >/dev/null
      conf="/etc/postgresql/$PG_MAJOR/$name/conf.d/citus.conf"
      printf "%s\n" "shared_preload_libraries = 'citus'" "listen_addresses = '127.0.0.1'" \
        "max_connections = 300" "shared_buffers = 256MB" "fsync = off" "synchronous_commit = off" \
        "full_page_writes = off" "citus.max_adaptive_executor_pool_size = 4" | tee "$conf" >/dev/null
    fi
    pg_ctlcluster "$PG_MAJOR" "$name" start 2>/dev/null || true
  done
  for node in "${NODES[@]}"; do
    port="${node##*:}"
    for _ in $(seq 50); do psql_at "$port" -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
    if [[ "$(psql_at "$port" -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" == 0 ]]; then
      psql_at "$port" -d postgres -c "CREATE DATABASE \"$DB\""
    fi
    psql_at "$port" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS citus"
  done
  psql_at "$PORT" -d "$DB" -c "SELECT citus_set_coordinator_host('127.0.0.1', $PORT)" >/dev/null
  for node in "${NODES[@]:1}"; do
    port="${node##*:}"
    psql_at "$PORT" -d "$DB" -c "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
  done
  echo "citus cluster up: coordinator 127.0.0.1:$PORT, workers $((PORT + 1)) $((PORT + 2)), database $DB"
}

stop() {
  for node in "${NODES[@]}"; do
    pg_ctlcluster "$PG_MAJOR" "${node%%:*}" stop 2>/dev/null || true
  done
}

drop() {
  for node in "${NODES[@]}"; do
    pg_dropcluster --stop "$PG_MAJOR" "${node%%:*}" 2>/dev/null || true
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  drop) drop ;;
  *) echo "usage: $0 start|stop|drop" >&2; exit 2 ;;
esac
