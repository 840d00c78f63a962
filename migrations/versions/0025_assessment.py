"""The assessment's scoring schemes: the weights a province sets per year; RLS.

A province's row is read by every unit of the province (the row is their ancestor) and written by the province
itself, in both locks (the model's `__scope_ancestors_visible__`, and here the policies), like the visit
intervals. A partner reporter sees nothing (no partner policy). The assessment's figures are read from the
existing tables; it stores nothing else, and adds
a covering index on children for its one pass over a subtree's children.

Revision ID: 0025_assessment
Revises: 0024_links
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0025_assessment"
down_revision = "0024_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", code(2), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["province_code"], ["units.code"],
                                name=op.f("fk_assessment_schemes_province_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_schemes")),
        sa.UniqueConstraint("province_code", "year", name="uq_assessment_schemes_province_code_year"),
    )
    # The assessment's one pass over a subtree's children reads this index alone (an index-only scan), not
    # the records: a province's million children in a fraction of the time.
    op.create_index("ix_children_region_code_assessment", "children", ["region_code"],
                    postgresql_include=["status", "unattended", "risk_level", "created_at", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON assessment_schemes TO {role}")
    op.execute("ALTER TABLE assessment_schemes ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE assessment_schemes FORCE ROW LEVEL SECURITY")
    in_scope = rls.in_scope("province_code")
    op.execute(f"CREATE POLICY assessment_schemes_read ON assessment_schemes FOR SELECT TO {role} "
               f"USING ({in_scope} OR province_code = ANY ((SELECT shouhu_scope_ancestors())::text[]))")
    op.execute(f"CREATE POLICY assessment_schemes_insert ON assessment_schemes FOR INSERT TO {role} "
               f"WITH CHECK ({in_scope})")
    op.execute(f"CREATE POLICY assessment_schemes_update ON assessment_schemes FOR UPDATE TO {role} "
               f"USING ({in_scope}) WITH CHECK ({in_scope})")
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_children_region_code_assessment", table_name="children")
    op.drop_table("assessment_schemes")
