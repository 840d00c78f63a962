"""Foundation: units, users, API tokens, login throttle; the application role and row-level security.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", code(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", code(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("retired_at", ts(), nullable=True),
        sa.Column("created_at", ts(), nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", ts(), nullable=False, server_default=sa.func.current_timestamp()),
        sa.PrimaryKeyConstraint("code", name="pk_units"),
    )
    op.create_index("ix_units_parent_code", "units", ["parent_code"])
    op.create_index("ix_units_level_code", "units", ["level", "code"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_code", code(), sa.ForeignKey("units.code", name="fk_users_region_code_units"),
                  nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("real_name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("auth_epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", ts(), nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", ts(), nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("disabled_at", ts(), nullable=True),
        sa.Column("last_login_at", ts(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint("role IN ('admin', 'staff', 'viewer')", name="ck_users_role"),
    )
    op.create_index("ix_users_region_code", "users", ["region_code"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_api_tokens_user_id_users"),
                  nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("expires_at", ts(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", ts(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    op.execute(rls.FUNCTIONS_SQL)
    for statement in rls.role_sql(role):
        op.execute(statement)
    for fn in ("shouhu_scope", "shouhu_scope_lo", "shouhu_scope_hi", "shouhu_scope_ancestors"):
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn}() TO {role}")

    # Units: the subtree and the caller's ancestors are readable; only the all-tenants scope (the loader) writes.
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON units TO {role}")
    op.execute("ALTER TABLE units ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE units FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY units_read ON units FOR SELECT TO {role} "
        f"USING ({rls.in_scope('code')} OR code = ANY (shouhu_scope_ancestors()))"
    )
    op.execute(f"CREATE POLICY units_insert ON units FOR INSERT TO {role} WITH CHECK (shouhu_scope() = '*')")
    op.execute(
        f"CREATE POLICY units_update ON units FOR UPDATE TO {role} "
        "USING (shouhu_scope() = '*') WITH CHECK (shouhu_scope() = '*')"
    )

    # Users: the subtree, plus exactly the row authentication is looking up.
    user_predicate = (
        f"{rls.in_scope('region_code')}"
        " OR id::text = nullif(current_setting('app.auth_user_id', true), '')"
        " OR username = nullif(current_setting('app.auth_username', true), '')"
    )
    for statement in rls.enable_rls("users", user_predicate, role=role,
                                    privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)

    token_predicate = (
        f"{rls.in_scope('region_code')}"
        " OR token_hash = nullif(current_setting('app.auth_token_hash', true), '')"
    )
    for statement in rls.enable_rls("api_tokens", token_predicate, role=role,
                                    privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)

    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO {role}")
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("units")
