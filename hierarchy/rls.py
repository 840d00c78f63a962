"""PostgreSQL row-level security, the database lock. Used by the Alembic migrations.

The policies read the scope the application sets per transaction (hierarchy.scope.apply_db_scope):
`app.scope` is a unit code of one of the five lengths (its subtree is visible), '*' for every tenant, or
anything else (nothing). '*' is honoured only for the jobs role (`shouhu_jobs`, migration 0011): requests run
as the application role, which cannot widen its own scope whatever it sets. The predicate is a half-open range
on a "C"-collated code column so that it is a B-tree range scan.

A partner reporter's scope leaves `app.scope` empty and sets `app.partner_unit`/`app.partner_user` instead
(migration 0019): only the few `*_partner` policies read those, through `shouhu_partner_*()` functions that give
nothing while `app.scope` names a unit, so they never add to a unit's scope.
"""

from __future__ import annotations

import os

DEFAULT_APP_ROLE = "shouhu_app"
DEFAULT_JOBS_ROLE = "shouhu_jobs"


def _role_from_env(variable: str, default: str) -> str:
    role = os.environ.get(variable, default)
    if not role.replace("_", "").isalnum():
        raise ValueError(f"unsafe role name {role!r}")
    return role


def app_role() -> str:
    """The role requests run as: one unit's subtree at a time."""
    return _role_from_env("SHOUHU_DB_APP_ROLE", DEFAULT_APP_ROLE)


def jobs_role() -> str:
    """The role of all-tenants work (jobs, CLI, loaders, roll-ups); a member of the application role."""
    return _role_from_env("SHOUHU_DB_JOBS_ROLE", DEFAULT_JOBS_ROLE)


FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION shouhu_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('app.scope', true), '')
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_lo() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s = '*' THEN '' WHEN s ~ '^[0-9]{2,12}$' THEN s ELSE '~' END
  FROM (SELECT shouhu_scope() AS s) AS x
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_hi() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s = '*' THEN '~' WHEN s ~ '^[0-9]{2,12}$' THEN s || ':' ELSE '' END
  FROM (SELECT shouhu_scope() AS s) AS x
$$;

-- The strict ancestors of the scope unit (prefixes of length 2, 4, 6, 9 shorter than it).
CREATE OR REPLACE FUNCTION shouhu_scope_ancestors() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(substr(s, 1, n)), '{}')
  FROM (SELECT shouhu_scope() AS s) AS x, unnest(ARRAY[2, 4, 6, 9]) AS n
  WHERE s ~ '^[0-9]{2,12}$' AND n < length(s)
$$;
"""


def role_sql(role: str) -> list[str]:
    return [
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$""",
        # Lets the migrating (owner) login switch to the application role with SET ROLE.
        f"GRANT {role} TO current_user",
        f"GRANT USAGE ON SCHEMA public TO {role}",
    ]


def in_scope(column: str) -> str:
    # Scalar sub-selects: evaluated once per statement (an InitPlan), not once per row (see migration 0009).
    return f"({column} >= (SELECT shouhu_scope_lo()) AND {column} < (SELECT shouhu_scope_hi()))"


def in_partner_scope(column: str) -> str:
    # A partner reporter's unit subtree (migration 0019): empty unless the scope is a partner's.
    return f"({column} >= (SELECT shouhu_partner_lo()) AND {column} < (SELECT shouhu_partner_hi()))"


def enable_rls(table: str, predicate: str, *, role: str | None = None,
               privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> list[str]:
    """Statements that put `table` under FORCE ROW LEVEL SECURITY with one policy for the app role."""
    role = role or app_role()
    return [
        f"GRANT {privileges} ON {table} TO {role}",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {table}_tenant ON {table}",
        f"CREATE POLICY {table}_tenant ON {table} TO {role} USING ({predicate}) WITH CHECK ({predicate})",
    ]


def enable_tenant_rls(table: str, column: str = "region_code", **kwargs) -> list[str]:
    return enable_rls(table, in_scope(column), **kwargs)


def grant_sequences(role: str | None = None) -> list[str]:
    role = role or app_role()
    return [f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"]
