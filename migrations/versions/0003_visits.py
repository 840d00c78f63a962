"""Visits (走访) and each province's visit intervals; RLS.

Revision ID: 0003_visits
Revises: 0002_children
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0003_visits"
down_revision = "0002_children"
branch_labels = None
depends_on = None


def ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visitor_user_id", sa.Integer(), nullable=True),
        sa.Column("visitor_name", sa.String(length=64), nullable=False),
        sa.Column("met", sa.JSON(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("guardianship_assessment", sa.String(length=8), nullable=True),
        sa.Column("risk_level", sa.String(length=8), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.CheckConstraint("guardianship_assessment IS NULL OR guardianship_assessment IN ('good', 'fair', 'poor')",
                           name=op.f("ck_visits_guardianship_assessment")),
        sa.CheckConstraint("risk_level IS NULL OR risk_level IN ('low', 'medium', 'high')",
                           name=op.f("ck_visits_risk_level")),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_visits_child_id_children"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_visits_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index("ix_visits_child_id_visited_on", "visits", ["child_id", "visited_on"])
    op.create_index("ix_visits_region_code_visited_on", "visits", ["region_code", "visited_on"])

    op.create_table(
        "visit_policies",
        sa.Column("province_code", code(2), nullable=False),
        sa.Column("high_days", sa.SmallInteger(), nullable=False),
        sa.Column("medium_days", sa.SmallInteger(), nullable=False),
        sa.Column("low_days", sa.SmallInteger(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", ts(), nullable=False),
        sa.CheckConstraint("high_days BETWEEN 1 AND 730 AND medium_days BETWEEN 1 AND 730 "
                           "AND low_days BETWEEN 1 AND 730", name=op.f("ck_visit_policies_days")),
        sa.PrimaryKeyConstraint("province_code", name=op.f("pk_visit_policies")),
    )

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    # Visits move with the child on a transfer (UPDATE of region_code); never deleted by the app.
    for statement in rls.enable_tenant_rls("visits", "region_code", role=role,
                                           privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)
    # A province's intervals: readable by every unit of the province (the row is their ancestor),
    # written by the province itself.
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON visit_policies TO {role}")
    op.execute("ALTER TABLE visit_policies ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE visit_policies FORCE ROW LEVEL SECURITY")
    in_scope = rls.in_scope("province_code")
    op.execute(
        f"CREATE POLICY visit_policies_read ON visit_policies FOR SELECT TO {role} "
        f"USING ({in_scope} OR province_code = ANY (shouhu_scope_ancestors()))"
    )
    op.execute(f"CREATE POLICY visit_policies_insert ON visit_policies FOR INSERT TO {role} WITH CHECK ({in_scope})")
    op.execute(
        f"CREATE POLICY visit_policies_update ON visit_policies FOR UPDATE TO {role} "
        f"USING ({in_scope}) WITH CHECK ({in_scope})"
    )
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("visit_policies")
    op.drop_table("visits")
