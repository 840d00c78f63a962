"""Functions on every request, planned once per connection instead of on every call.

- The three authentication functions (`shouhu_auth_token`, `shouhu_auth_user_unit`, `shouhu_auth_login`) were
  `LANGUAGE sql` with SET clauses: such a function cannot be inlined, and PostgreSQL plans its query again on
  each call (a third of a millisecond of the database's time on every API request). In PL/pgSQL the query's plan
  is kept for the connection. Same results, same SECURITY DEFINER, fixed search path and grants.
- `shouhu_scope_ancestors()` aggregated over `unnest`, so it was planned and run as a query of its own once per
  statement and table that reads it. It is now one expression, inlined into the policy's InitPlan.

Revision ID: 0016_planned_once
Revises: 0015_cases
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls

revision = "0016_planned_once"
down_revision = "0015_cases"
branch_labels = None
depends_on = None

_CODE = "'^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'"

ANCESTORS = r"""
CREATE OR REPLACE FUNCTION shouhu_scope_ancestors() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN shouhu_scope() ~ '^[0-9]+$' THEN
    (ARRAY[substr(shouhu_scope(), 1, 2), substr(shouhu_scope(), 1, 4), substr(shouhu_scope(), 1, 6),
           substr(shouhu_scope(), 1, 9)])[1:(CASE length(shouhu_scope()) WHEN 2 THEN 0 WHEN 4 THEN 1 WHEN 6 THEN 2
                                             WHEN 9 THEN 3 ELSE 4 END)]
  ELSE '{}'::text[] END
$$;
"""

PREVIOUS_ANCESTORS = f"""
CREATE OR REPLACE FUNCTION shouhu_scope_ancestors() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(substr(s, 1, n)), '{{}}')
  FROM (SELECT coalesce(current_setting('app.scope', true), '') AS s) AS x, unnest(ARRAY[2, 4, 6, 9]) AS n
  WHERE s ~ {_CODE} AND n < length(s)
$$;
"""

TOKEN_COLUMNS = """user_id integer, unit_code text, revoked boolean, expires_at timestamptz,
               username text, role text, real_name text, phone text, active boolean, auth_epoch integer,
               created_at timestamptz, updated_at timestamptz, disabled_at timestamptz, last_login_at timestamptz,
               created_by_id integer, must_change_password boolean,
               unit_name text, unit_level smallint, unit_parent_code text, unit_retired boolean,
               unit_retired_at timestamptz, unit_created_at timestamptz, unit_updated_at timestamptz"""

TOKEN_QUERY = """SELECT t.user_id, u.region_code::text, t.revoked, t.expires_at,
         u.username::text, u.role::text, u.real_name::text, u.phone::text, u.active, u.auth_epoch,
         u.created_at, u.updated_at, u.disabled_at, u.last_login_at, u.created_by_id, u.must_change_password,
         n.name::text, n.level, n.parent_code::text, n.retired, n.retired_at, n.created_at, n.updated_at
  FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id JOIN units AS n ON n.code = u.region_code
  WHERE t.token_hash = p_token_hash"""

LOGIN_QUERY = "SELECT id, region_code::text FROM users WHERE username = p_username"
USER_UNIT_QUERY = "SELECT region_code::text FROM users WHERE id = p_user_id"


def _header(language: str) -> str:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
    return (f"LANGUAGE {language} STABLE SECURITY DEFINER SET search_path = \"{schema}\", pg_temp "
            "SET app.scope = '*'")


def _auth_functions(language: str) -> list[str]:
    header = _header(language)
    if language == "plpgsql":
        token = f"BEGIN RETURN QUERY {TOKEN_QUERY}; END"
        login = f"BEGIN RETURN QUERY {LOGIN_QUERY}; END"
        user_unit = f"BEGIN RETURN ({USER_UNIT_QUERY}); END"
    else:
        token, login, user_unit = TOKEN_QUERY, LOGIN_QUERY, USER_UNIT_QUERY
    return [
        f"CREATE OR REPLACE FUNCTION shouhu_auth_token(p_token_hash text) RETURNS TABLE ({TOKEN_COLUMNS}) "
        f"{header} AS $$ {token} $$",
        f"CREATE OR REPLACE FUNCTION shouhu_auth_login(p_username text) "
        f"RETURNS TABLE (user_id integer, unit_code text) {header} AS $$ {login} $$",
        f"CREATE OR REPLACE FUNCTION shouhu_auth_user_unit(p_user_id integer) RETURNS text {header} "
        f"AS $$ {user_unit} $$",
    ]


def _replace(language: str, ancestors: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # A function's language cannot change in place when its body's parameters are referenced differently; a
    # fresh definition keeps the grants explicit.
    for signature in ("shouhu_auth_token(text)", "shouhu_auth_login(text)", "shouhu_auth_user_unit(integer)"):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for statement in _auth_functions(language):
        op.execute(statement)
    for signature in ("shouhu_auth_token(text)", "shouhu_auth_login(text)", "shouhu_auth_user_unit(integer)"):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {rls.app_role()}")
    op.execute(ancestors)


def upgrade() -> None:
    _replace("plpgsql", ANCESTORS)


def downgrade() -> None:
    _replace("sql", PREVIOUS_ANCESTORS)
