"""A database role for all-tenants work: the web role can no longer widen its own scope.

Until now the policies honoured `app.scope = '*'` (every tenant) and the authentication keys
(`app.auth_user_id`, `app.auth_username`, `app.auth_token_hash`) for whoever set them, so SQL run as the web
role could open every province. From here:

- `shouhu_jobs` (NOLOGIN, no BYPASSRLS) is the role of all-tenants work: jobs, the CLI, loaders, roll-ups. It
  is a member of the application role (same privileges, same policies). The scope functions honour '*' only
  when the current role has the privileges of `shouhu_jobs`; for the web role '*' means nothing, like any
  other value that is not a unit code. Every policy reads the scope through these functions, so this holds
  for every table, including ones added later.
- A unit code must have one of the five lengths (2, 4, 6, 9, 12 digits); anything else means nothing.
- The users and tokens policies no longer open rows by the authentication keys. A request finds its caller
  through three SECURITY DEFINER functions owned by the migrating role (a member of `shouhu_jobs`) that return
  just the caller's id and unit; the caller's own rows are then read under the caller's unit scope.
- `login_throttle` is dropped: failed logins are counted in the rate limiter's storage (Redis, or memory in
  the quick start), not in the tenant schema.
- `sync_nightly_runs`: the nightly rebuild's once-a-day guard, which lived in Redis (every Redis restart
  triggered an extra full rebuild). Not tenant data: only the jobs role reads and writes it.

Revision ID: 0011_jobs_role
Revises: 0010_outbox_ancestor_read
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls

revision = "0011_jobs_role"
down_revision = "0010_outbox_ancestor_read"
branch_labels = None
depends_on = None

_S = "coalesce(current_setting('app.scope', true), '')"
_CODE = "'^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'"


def _scope_functions(jobs: str) -> str:
    everything = f"({_S} = '*' AND pg_has_role(current_user, '{jobs}', 'USAGE'))"
    return f"""
CREATE OR REPLACE FUNCTION shouhu_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN {everything} THEN '*' WHEN {_S} ~ {_CODE} THEN {_S} ELSE '' END
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_lo() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN {everything} THEN '' WHEN {_S} ~ {_CODE} THEN {_S} ELSE '~' END
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_hi() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN {everything} THEN '~' WHEN {_S} ~ {_CODE} THEN {_S} || ':' ELSE '' END
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_ancestors() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(substr(s, 1, n)), '{{}}')
  FROM (SELECT {_S} AS s) AS x, unnest(ARRAY[2, 4, 6, 9]) AS n
  WHERE s ~ {_CODE} AND n < length(s)
$$;
"""


_PREVIOUS_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION shouhu_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('app.scope', true), '')
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_lo() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN coalesce(current_setting('app.scope', true), '') = '*' THEN ''
    WHEN coalesce(current_setting('app.scope', true), '') ~ '^[0-9]{2,12}$'
    THEN coalesce(current_setting('app.scope', true), '') ELSE '~' END
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_hi() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN coalesce(current_setting('app.scope', true), '') = '*' THEN '~'
    WHEN coalesce(current_setting('app.scope', true), '') ~ '^[0-9]{2,12}$'
    THEN coalesce(current_setting('app.scope', true), '') || ':' ELSE '' END
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_ancestors() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(substr(s, 1, n)), '{}')
  FROM (SELECT shouhu_scope() AS s) AS x, unnest(ARRAY[2, 4, 6, 9]) AS n
  WHERE s ~ '^[0-9]{2,12}$' AND n < length(s)
$$;
"""

AUTH_FUNCTIONS = ("shouhu_auth_login(text)", "shouhu_auth_user_unit(integer)", "shouhu_auth_token(text)")


def _auth_functions(schema: str) -> str:
    # SECURITY DEFINER with a fixed search_path; the all-tenants scope is set for the function's body only
    # and honoured because its owner (the migrating role) is a member of the jobs role.
    header = f"LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp SET app.scope = '*'"
    return f"""
CREATE OR REPLACE FUNCTION shouhu_auth_login(p_username text)
RETURNS TABLE (user_id integer, unit_code text) {header} AS $$
  SELECT id, region_code::text FROM users WHERE username = p_username
$$;

CREATE OR REPLACE FUNCTION shouhu_auth_user_unit(p_user_id integer) RETURNS text {header} AS $$
  SELECT region_code::text FROM users WHERE id = p_user_id
$$;

CREATE OR REPLACE FUNCTION shouhu_auth_token(p_token_hash text)
RETURNS TABLE (user_id integer, unit_code text, revoked boolean, expires_at timestamptz) {header} AS $$
  SELECT t.user_id, u.region_code::text, t.revoked, t.expires_at
  FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id WHERE t.token_hash = p_token_hash
$$;
"""


def _replace_policy(table: str, predicate: str, role: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {table}_tenant ON {table}")
    op.execute(f"CREATE POLICY {table}_tenant ON {table} TO {role} USING ({predicate}) WITH CHECK ({predicate})")


def upgrade() -> None:
    op.drop_table("login_throttle")
    op.create_table(
        "sync_nightly_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_sync_nightly_runs")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    app, jobs = rls.app_role(), rls.jobs_role()
    for statement in rls.role_sql(jobs):
        op.execute(statement)
    op.execute(f"GRANT {app} TO {jobs}")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON sync_nightly_runs TO {jobs}")
    op.execute(_scope_functions(jobs))

    in_scope = rls.in_scope("region_code")
    _replace_policy("users", in_scope, app)
    _replace_policy("api_tokens", in_scope, app)

    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
    op.execute(_auth_functions(f'"{schema}"'))
    for function in AUTH_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {app}")


def downgrade() -> None:
    op.drop_table("sync_nightly_runs")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    app = rls.app_role()
    for function in AUTH_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    in_scope = rls.in_scope("region_code")
    _replace_policy("users", f"{in_scope} OR id::text = nullif(current_setting('app.auth_user_id', true), '') "
                    "OR username = nullif(current_setting('app.auth_username', true), '')", app)
    _replace_policy("api_tokens", f"{in_scope} OR token_hash = "
                    "nullif(current_setting('app.auth_token_hash', true), '')", app)
    op.execute(_PREVIOUS_FUNCTIONS)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO {app}")
    # The jobs role keeps its membership: roles are shared by every database of the server, and another database
    # at a later revision relies on it (revoking it here broke that database's jobs while this one downgraded).
