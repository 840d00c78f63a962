"""Case figures: case indicators in the stored figures, the escalation level of a case, and the signing date of
the entrusted guardianship confirmation (委托监护责任确认书) on the child record.

Revision ID: 0018_case_figures
Revises: 0017_partner_reporters
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_case_figures"
down_revision = "0017_partner_reporters"
branch_labels = None
depends_on = None

# The indicator columns this revision adds (sync.indicators.KEYS after the staff-coverage ones).
CATEGORIES = ("living_alone", "missing", "guardian_failing", "domestic_violence", "injury_or_harm", "sexual_harm",
              "abandonment", "abduction_or_begging")
REPORTERS = ("staff", "hotline", "school", "kindergarten", "clinic", "social_work", "police", "other")
STAGES = ("reported", "accepted", "emergency", "assessment", "help_plan", "follow_up")
INDICATORS = (
    "guardianship_confirmed", "case_reports", *(f"case_reports_{c}" for c in CATEGORIES),
    *(f"case_reporter_{c}" for c in REPORTERS), "case_delay_0_3", "case_delay_4_14", "case_delay_15_30",
    "case_delay_31_over", "cases_open", *(f"cases_open_{s}" for s in STAGES), "cases_overdue", "cases_escalated",
    "case_accept_minutes_median", "case_measure_minutes_median", "outcome_guardianship_arranged",
    "outcome_temporary_placements", "outcome_back_to_school", "outcome_household_registered",
    "outcome_assistance_enrolled", "outcome_guardianship_revoked",
)


def upgrade() -> None:
    for table in ("unit_stats", "unit_stats_monthly"):
        with op.batch_alter_table(table) as batch:
            for name in INDICATORS:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("cases") as batch:
        # 0: not escalated; 1: the county and the city were told of the overdue step; 2: the province too.
        batch.add_column(sa.Column("escalation_level", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalation_step", sa.String(16), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("guardianship_confirmed_on", sa.Date(), nullable=True))
    # Open cases by province: the escalation job and the roll-up's overdue count read them per province.
    op.create_index("ix_cases_province_code_stage", "cases", ["province_code", "stage"])


def downgrade() -> None:
    op.drop_index("ix_cases_province_code_stage", table_name="cases")
    with op.batch_alter_table("children") as batch:
        batch.drop_column("guardianship_confirmed_on")
    with op.batch_alter_table("cases") as batch:
        for name in ("escalated_at", "escalation_step", "escalation_level"):
            batch.drop_column(name)
    for table in ("unit_stats", "unit_stats_monthly"):
        with op.batch_alter_table(table) as batch:
            for name in INDICATORS:
                batch.drop_column(name)
