"""Protection cases: mandatory reports, cases, the children involved, the timeline, the full-read audit and each
province's time limits; RLS.

Every table but the limits is owned by the case's village (`region_code`): the village, its township, the
handling county and the units above see the rows by the subtree rule, a sibling sees nothing. The timeline and
the audit are append-only for the application. A province's limits are readable by the whole province and
written by the province, like the visit intervals.

Revision ID: 0015_cases
Revises: 0014_auth_token_identity
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code
from tenant_app.cases import enums as E

revision = "0015_cases"
down_revision = "0014_auth_token_identity"
branch_labels = None
depends_on = None


def ts():
    return sa.DateTime(timezone=True)


def _in(table: str, column: str, values, nullable: bool = False) -> sa.CheckConstraint:
    clause = f"{column} IN ({E.sql_in(values)})"
    if nullable:
        clause = f"{column} IS NULL OR {clause}"
    return sa.CheckConstraint(clause, name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("occurred_village_code", code(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("urgency", sa.String(length=12), nullable=False),
        sa.Column("occurred_at", ts(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("unknown_child_description", sa.Text(), nullable=False),
        sa.Column("reporter_kind", sa.String(length=16), nullable=False),
        sa.Column("reporter_name", sa.String(length=64), nullable=False),
        sa.Column("reporter_contact", sa.String(length=64), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_unit_code", code(), nullable=False),
        sa.Column("filed_at", ts(), nullable=False),
        _in("reports", "category", E.CATEGORIES),
        _in("reports", "urgency", E.URGENCIES),
        _in("reports", "reporter_kind", E.REPORTER_KINDS),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_reports_region_code_units")),
        sa.ForeignKeyConstraint(["occurred_village_code"], ["units.code"],
                                name=op.f("fk_reports_occurred_village_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_region_code_filed_at", "reports", ["region_code", "filed_at"])
    op.create_index("ix_reports_reporter_unit_code_filed_at", "reports", ["reporter_unit_code", "filed_at"])

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("township_code", code(9), nullable=False),
        sa.Column("county_code", code(6), nullable=False),
        sa.Column("province_code", code(2), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("urgency", sa.String(length=12), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("risk_level", sa.String(length=8), nullable=True),
        sa.Column("guardianship_intervention", sa.Boolean(), nullable=False),
        sa.Column("screen_out_reason", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("outcome_summary", sa.String(length=2000), nullable=False),
        sa.Column("reported_at", ts(), nullable=False),
        sa.Column("cycle_started_at", ts(), nullable=False),
        sa.Column("accepted_at", ts(), nullable=True),
        sa.Column("first_measure_at", ts(), nullable=True),
        sa.Column("assessed_at", ts(), nullable=True),
        sa.Column("help_plan_at", ts(), nullable=True),
        sa.Column("closed_at", ts(), nullable=True),
        sa.Column("reopen_count", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", ts(), nullable=False),
        _in("cases", "category", E.CATEGORIES),
        _in("cases", "urgency", E.URGENCIES),
        _in("cases", "stage", E.STAGES),
        _in("cases", "risk_level", E.RISK_LEVELS, nullable=True),
        _in("cases", "outcome", E.OUTCOMES, nullable=True),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_cases_region_code_units")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_cases_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("report_id", name=op.f("uq_cases_report_id")),
    )
    op.create_index("ix_cases_region_code_stage", "cases", ["region_code", "stage"])
    op.create_index("ix_cases_county_code_stage", "cases", ["county_code", "stage"])

    op.create_table(
        "case_children",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_children_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_case_children_child_id_children")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_children")),
        sa.UniqueConstraint("case_id", "child_id", name="uq_case_children_case_id_child_id"),
    )
    op.create_index("ix_case_children_child_id", "case_children", ["child_id"])

    op.create_table(
        "case_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_unit_code", code(), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_actions_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_actions")),
    )
    op.create_index("ix_case_actions_case_id_at", "case_actions", ["case_id", "at"])
    op.create_index("ix_case_actions_region_code_kind", "case_actions", ["region_code", "kind"])

    op.create_table(
        "case_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_region_code", code(), nullable=False),
        sa.Column("with_reporter", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reads")),
    )
    op.create_index("ix_case_reads_case_id_at", "case_reads", ["case_id", "at"])
    op.create_index("ix_case_reads_region_code_at", "case_reads", ["region_code", "at"])

    op.create_table(
        "case_policies",
        sa.Column("province_code", code(2), nullable=False),
        sa.Column("accept_emergency_hours", sa.SmallInteger(), nullable=False),
        sa.Column("accept_hours", sa.SmallInteger(), nullable=False),
        sa.Column("first_measure_hours", sa.SmallInteger(), nullable=False),
        sa.Column("assessment_days", sa.SmallInteger(), nullable=False),
        sa.Column("help_plan_days", sa.SmallInteger(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", ts(), nullable=False),
        sa.CheckConstraint("accept_emergency_hours BETWEEN 1 AND 720 AND accept_hours BETWEEN 1 AND 720 "
                           "AND first_measure_hours BETWEEN 1 AND 720 AND assessment_days BETWEEN 1 AND 90 "
                           "AND help_plan_days BETWEEN 1 AND 90", name=op.f("ck_case_policies_limits")),
        sa.PrimaryKeyConstraint("province_code", name=op.f("pk_case_policies")),
    )

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    # Reports and the children involved are written once; cases change stage; the timeline and the audit are
    # append-only. Nothing is deleted by the application.
    for table, privileges in (("reports", "SELECT, INSERT"), ("cases", "SELECT, INSERT, UPDATE"),
                              ("case_children", "SELECT, INSERT"), ("case_actions", "SELECT, INSERT"),
                              ("case_reads", "SELECT, INSERT")):
        for statement in rls.enable_tenant_rls(table, "region_code", role=role, privileges=privileges):
            op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON case_policies TO {role}")
    op.execute("ALTER TABLE case_policies ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE case_policies FORCE ROW LEVEL SECURITY")
    in_scope = rls.in_scope("province_code")
    op.execute(f"CREATE POLICY case_policies_read ON case_policies FOR SELECT TO {role} "
               f"USING ({in_scope} OR province_code = ANY ((SELECT shouhu_scope_ancestors())::text[]))")
    op.execute(f"CREATE POLICY case_policies_insert ON case_policies FOR INSERT TO {role} WITH CHECK ({in_scope})")
    op.execute(f"CREATE POLICY case_policies_update ON case_policies FOR UPDATE TO {role} "
               f"USING ({in_scope}) WITH CHECK ({in_scope})")
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    for table in ("case_policies", "case_reads", "case_actions", "case_children", "cases", "reports"):
        op.drop_table(table)
