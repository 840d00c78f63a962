"""The transactional outbox for upward sync; RLS.

Revision ID: 0006_outbox
Revises: 0005_campaigns
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0006_outbox"
down_revision = "0005_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_outbox")),
    )
    op.create_index("ix_sync_outbox_region_code", "sync_outbox", ["region_code"])
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    # Requests insert rows for their own subtree; the roll-up job (all tenants) reads and deletes them.
    for statement in rls.enable_tenant_rls("sync_outbox", "region_code", role=role,
                                           privileges="SELECT, INSERT, DELETE"):
        op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_sync_outbox_region_code", table_name="sync_outbox")
    op.drop_table("sync_outbox")
