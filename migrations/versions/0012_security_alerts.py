"""Security alerts for a province's administrators; an index for one user's recent duplicate-ID probes; RLS.

Revision ID: 0012_security_alerts
Revises: 0011_jobs_role
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0012_security_alerts"
down_revision = "0011_jobs_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_region_code", code(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_security_alerts_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
    )
    op.create_index("ix_security_alerts_region_code_at", "security_alerts", ["region_code", "at"])
    op.create_index("ix_audit_events_user_id_at", "audit_events", ["user_id", "at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    # Append-only for the application, like the audit.
    for statement in rls.enable_tenant_rls("security_alerts", "region_code", role=role,
                                           privileges="SELECT, INSERT"):
        op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_audit_events_user_id_at", table_name="audit_events")
    op.drop_index("ix_security_alerts_region_code_at", table_name="security_alerts")
    op.drop_table("security_alerts")
