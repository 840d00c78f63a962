"""What changes when the database is a Citus coordinator (deploy/citus/README.md has the measured facts).

- The scope must reach the workers. `set_config(..., true)` is not sent to them; `SET LOCAL` is, with
  `citus.propagate_set_commands = 'local'`, which each pooled connection sets when it finds Citus
  (`prepare_connection`). `scope_statement` is the transaction's scope as `SET LOCAL` statements.
- Policies on distributed tables may not contain sub-selects, so they read the settings directly
  (`in_scope_direct`). A missing or empty scope matches nothing on every node: a worker connection that never saw
  a `SET LOCAL` has no `app.scope` at all (NULL), or an empty one after an earlier transaction.
"""

from __future__ import annotations

CITUS_INFO = "shouhu_citus"  # on a pooled connection's info: the server is a Citus coordinator
# A unit code of one of the five lengths, as the single server's scope functions accept (migrations 0011, 0016).
UNIT_CODE_PATTERN = "^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"


def detect(dbapi_connection) -> bool:
    """Whether the database of this DBAPI connection has the citus extension (one catalog read per connection)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")
        return bool(cursor.fetchone()[0])
    finally:
        cursor.close()


def prepare_connection(dbapi_connection) -> None:
    """Session-wide on a Citus connection: transaction-local settings (the scope, the role) go to the workers."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET citus.propagate_set_commands = 'local'")
    finally:
        cursor.close()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def scope_statement(settings: dict[str, str]) -> str:
    """The settings as `SET LOCAL` statements sent in one round trip (simple query protocol: no parameters, so
    each value is a quoted literal). The role is set last, after the settings it must not be able to change."""
    parts = [f"SET LOCAL {key} = {_literal(value)}" for key, value in settings.items() if key != "role"]
    if "role" in settings:
        parts.append(f'SET LOCAL ROLE "{settings["role"]}"')
    return "; ".join(parts)


def scope_bounds_sql() -> tuple[str, str]:
    """The half-open range of the scope in SQL without sub-selects: NULL (no rows) when the scope is missing,
    empty or malformed; everything for '*' (the policies honour it for the jobs role only)."""
    scope = "NULLIF(current_setting('app.scope', true), '')"
    unit = f"{scope} ~ '{UNIT_CODE_PATTERN}'"
    lo = f"CASE WHEN {scope} = '*' THEN '' WHEN {unit} THEN {scope} END"
    hi = f"CASE WHEN {scope} = '*' THEN '~' WHEN {unit} THEN {scope} || ':' END"
    return lo, hi


def in_scope_direct(column: str, jobs_role: str) -> str:
    """The policy predicate Citus accepts: the scope's range compared directly; '*' only for members of
    `jobs_role`, as on the single server."""
    lo, hi = scope_bounds_sql()
    all_tenants = "NULLIF(current_setting('app.scope', true), '') = '*'"
    return (f"({column} >= ({lo}) AND {column} < ({hi}) "
            f"AND (NOT coalesce({all_tenants}, false) OR pg_has_role(current_user, '{jobs_role}', 'USAGE')))")
