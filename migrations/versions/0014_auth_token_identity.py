"""The bearer token's identity in one statement.

`shouhu_auth_token` returned the token's user id and unit; the application then read the user's row and unit
row under the unit's scope: three round trips on every API request before any work. It now returns the token's
state with the user's row (without the password hash) and the user's unit, so an API request is authenticated
in one statement. Still SECURITY DEFINER with a fixed search path, still executable by the application role only.

Revision ID: 0014_auth_token_identity
Revises: 0013_account_notifications
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls

revision = "0014_auth_token_identity"
down_revision = "0013_account_notifications"
branch_labels = None
depends_on = None

HEADER = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp SET app.scope = '*'"

IDENTITY = """
CREATE FUNCTION shouhu_auth_token(p_token_hash text)
RETURNS TABLE (user_id integer, unit_code text, revoked boolean, expires_at timestamptz,
               username text, role text, real_name text, phone text, active boolean, auth_epoch integer,
               created_at timestamptz, updated_at timestamptz, disabled_at timestamptz, last_login_at timestamptz,
               created_by_id integer, must_change_password boolean,
               unit_name text, unit_level smallint, unit_parent_code text, unit_retired boolean,
               unit_retired_at timestamptz, unit_created_at timestamptz, unit_updated_at timestamptz) {header} AS $$
  SELECT t.user_id, u.region_code::text, t.revoked, t.expires_at,
         u.username::text, u.role::text, u.real_name::text, u.phone::text, u.active, u.auth_epoch,
         u.created_at, u.updated_at, u.disabled_at, u.last_login_at, u.created_by_id, u.must_change_password,
         n.name::text, n.level, n.parent_code::text, n.retired, n.retired_at, n.created_at, n.updated_at
  FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id JOIN units AS n ON n.code = u.region_code
  WHERE t.token_hash = p_token_hash
$$;
"""

PREVIOUS = """
CREATE FUNCTION shouhu_auth_token(p_token_hash text)
RETURNS TABLE (user_id integer, unit_code text, revoked boolean, expires_at timestamptz) {header} AS $$
  SELECT t.user_id, u.region_code::text, t.revoked, t.expires_at
  FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id WHERE t.token_hash = p_token_hash
$$;
"""


def _replace(body: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
    # The result's columns change: CREATE OR REPLACE cannot do that.
    op.execute("DROP FUNCTION IF EXISTS shouhu_auth_token(text)")
    op.execute(body.format(header=HEADER.format(schema=f'"{schema}"')))
    op.execute("REVOKE ALL ON FUNCTION shouhu_auth_token(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION shouhu_auth_token(text) TO {rls.app_role()}")


def upgrade() -> None:
    _replace(IDENTITY)


def downgrade() -> None:
    _replace(PREVIOUS)
