"""Stored figures: unit_stats, unit_stats_monthly, unit_campaign_stats; RLS.

Revision ID: 0007_stats
Revises: 0006_outbox
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0007_stats"
down_revision = "0006_outbox"
branch_labels = None
depends_on = None

# The indicator columns as of this revision (sync.indicators.KEYS then); later indicators get their own migration.
INDICATORS = (
    "children_total", "left_behind", "in_difficulty", "de_facto_unsupported", "difficulty_orphan",
    "difficulty_de_facto_unsupported", "difficulty_poor_family", "difficulty_illness_disability", "difficulty_other",
    "age_0_5", "age_6_13", "age_14_16", "age_17_over", "male", "female", "guardianship_unattended",
    "guardianship_parent_incapable", "guardianship_guardian_incapable", "guardianship_fair", "guardianship_good",
    "guardianship_unassessed", "dropouts", "not_in_school", "no_household_registration", "high_risk",
    "medium_risk", "low_risk", "unattended", "visits_due", "visits_overdue", "exits_total", "exits_turned_16",
    "exits_parents_returned", "exits_moved_away", "exits_deceased", "exits_other", "villages_total",
    "villages_with_director", "townships_total", "townships_with_supervisor",
)
CAMPAIGN_FIELDS = ("total", "not_started", "draft", "submitted", "approved", "returned", "overdue",
                   "completed_on_time")


def _counts(names):
    return [sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in names]


def upgrade() -> None:
    op.create_table(
        "unit_stats",
        sa.Column("unit_code", code(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        *_counts(INDICATORS),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_unit_stats_unit_code_units")),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_unit_stats")),
    )
    op.create_index("ix_unit_stats_level_unit_code", "unit_stats", ["level", "unit_code"])
    op.create_table(
        "unit_stats_monthly",
        sa.Column("unit_code", code(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        *_counts(INDICATORS),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_unit_stats_monthly_unit_code_units")),
        sa.PrimaryKeyConstraint("unit_code", "month", name=op.f("pk_unit_stats_monthly")),
    )
    op.create_table(
        "unit_campaign_stats",
        sa.Column("unit_code", code(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        *_counts(CAMPAIGN_FIELDS),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_unit_campaign_stats_unit_code_units")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_unit_campaign_stats_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unit_code", "campaign_id", name=op.f("pk_unit_campaign_stats")),
    )
    op.create_index("ix_unit_campaign_stats_campaign_id", "unit_campaign_stats", ["campaign_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    # Read: the caller's own subtree only (an ancestor's figures include the caller's siblings). Write: the
    # roll-up job alone, which runs with the all-tenants scope.
    jobs_only = "shouhu_scope() = '*'"
    for table in ("unit_stats", "unit_stats_monthly", "unit_campaign_stats"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT TO {role} USING ({rls.in_scope('unit_code')})")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO {role} WITH CHECK ({jobs_only})")
        op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE TO {role} "
                   f"USING ({jobs_only}) WITH CHECK ({jobs_only})")
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE TO {role} USING ({jobs_only})")


def downgrade() -> None:
    for table in ("unit_campaign_stats", "unit_stats_monthly", "unit_stats"):
        op.drop_table(table)
