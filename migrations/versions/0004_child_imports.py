"""Child record imports from Excel (dry run, progress, errors); RLS.

Revision ID: 0004_child_imports
Revises: 0003_visits
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0004_child_imports"
down_revision = "0003_visits"
branch_labels = None
depends_on = None


def ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "child_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("valid_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_child_imports_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_imports")),
    )
    op.create_index("ix_child_imports_region_code_created_at", "child_imports", ["region_code", "created_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for statement in rls.enable_tenant_rls("child_imports", "region_code", role=role,
                                           privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_child_imports_region_code_created_at", table_name="child_imports")
    op.drop_table("child_imports")
