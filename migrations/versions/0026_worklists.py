"""Worklists (核查清单) of the horizontal links: the discrepancies between the rolls and the records per village,
turned into verification tasks and answered item by item; the outcome figures of the roll-up; RLS.

An item belongs to its village (`region_code`): the village and every unit above it see it by the subtree rule,
a sibling nothing. No partner policy: a department sees no worklist. The four outcome indicators (dropouts back
in school, children put on record, household registrations, assistance enrolments found through the worklists)
are new columns of the stored figures.

Revision ID: 0026_worklists
Revises: 0025_assessment
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code
from tenant_app.links import enums as E

revision = "0026_worklists"
down_revision = "0025_assessment"
branch_labels = None
depends_on = None

INDICATORS = ("links_back_to_school", "links_put_on_record", "links_household_registered",
              "links_assistance_enrolled")


def upgrade() -> None:
    op.create_table(
        "worklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("list_kind", sa.String(12), nullable=False),
        sa.Column("subject_key", sa.String(24), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("row_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("sex", sa.String(8), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("id_number", sa.String(18), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.String(12), nullable=True),
        sa.Column("answer_note", sa.String(200), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("result_child_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_worklist_items_region_code_units")),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], ondelete="CASCADE",
                                name=op.f("fk_worklist_items_child_id_children")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="SET NULL",
                                name=op.f("fk_worklist_items_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="SET NULL",
                                name=op.f("fk_worklist_items_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_items")),
        sa.CheckConstraint(f"list_kind IN ({E.sql_in(E.LIST_KINDS)})", name=op.f("ck_worklist_items_list_kind")),
        sa.CheckConstraint(f"status IN ({E.sql_in(E.ITEM_STATUSES)})", name=op.f("ck_worklist_items_status")),
        sa.CheckConstraint(f"answer IS NULL OR answer IN ({E.sql_in(E.ANSWERS)})",
                           name=op.f("ck_worklist_items_answer")),
    )
    # A village's page of one list: an index range, in order, bounded.
    op.create_index("ix_worklist_items_region_code_list_kind_status", "worklist_items",
                    ["region_code", "list_kind", "status", "id"])
    op.create_index("ix_worklist_items_task_id", "worklist_items", ["task_id"])
    op.create_index("ix_worklist_items_region_code_answered_on", "worklist_items", ["region_code", "answered_on"])
    # One item per subject and list until it is answered.
    op.create_index("uq_worklist_items_pending", "worklist_items", ["region_code", "list_kind", "subject_key"],
                    unique=True, postgresql_where=sa.text("status <> 'answered'"),
                    sqlite_where=sa.text("status <> 'answered'"))
    for table in ("unit_stats", "unit_stats_monthly"):
        with op.batch_alter_table(table) as batch:
            for name in INDICATORS:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for statement in rls.enable_tenant_rls("worklist_items", "region_code", role=role,
                                           privileges="SELECT, INSERT, UPDATE, DELETE"):
        op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    for table in ("unit_stats", "unit_stats_monthly"):
        with op.batch_alter_table(table) as batch:
            for name in INDICATORS:
                batch.drop_column(name)
    op.drop_table("worklist_items")
