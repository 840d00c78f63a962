"""Campaigns, tasks, receipts, task timelines, census checks and notifications; RLS.

Revision ID: 0005_campaigns
Revises: 0004_child_imports
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0005_campaigns"
down_revision = "0004_child_imports"
branch_labels = None
depends_on = None


def ts(nullable=True):
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_code", code(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("directive", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=True),
        sa.Column("target_level", sa.SmallInteger(), nullable=False),
        sa.Column("reviewer_level", sa.SmallInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("task_count", sa.Integer(), nullable=False),
        sa.Column("receipt_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("published_at", ts(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", ts(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('census', 'questionnaire', 'special_action')", name=op.f("ck_campaigns_kind")),
        sa.CheckConstraint("status IN ('draft', 'publishing', 'open', 'closed')", name=op.f("ck_campaigns_status")),
        sa.CheckConstraint("target_level BETWEEN 2 AND 5 AND reviewer_level BETWEEN 1 AND 5 "
                           "AND reviewer_level < target_level", name=op.f("ck_campaigns_levels")),
        sa.CheckConstraint("due_on >= starts_on", name=op.f("ck_campaigns_dates")),
        sa.ForeignKeyConstraint(["issuer_code"], ["units.code"], name=op.f("fk_campaigns_issuer_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_issuer_code_created_at", "campaigns", ["issuer_code", "created_at"])
    op.create_index("ix_campaigns_status", "campaigns", ["status"])

    op.create_table(
        "campaign_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("issuer_code", code(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_attachments_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issuer_code"], ["units.code"],
                                name=op.f("fk_campaign_attachments_issuer_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_attachments")),
    )
    op.create_index("ix_campaign_attachments_campaign_id", "campaign_attachments", ["campaign_id"])

    op.create_table(
        "campaign_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("acknowledged_at", ts(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("note_at", ts(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_receipts_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_campaign_receipts_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_receipts")),
        sa.UniqueConstraint("campaign_id", "region_code", name=op.f("uq_campaign_receipts_campaign_id_region_code")),
    )
    op.create_index("ix_campaign_receipts_region_code", "campaign_receipts", ["region_code"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("reviewer_code", code(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False, server_default="pending"),
        sa.Column("answers", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("return_reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("submitted_at", ts(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", ts(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", ts(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.CheckConstraint("status IN ('pending', 'draft', 'submitted', 'approved', 'returned')",
                           name=op.f("ck_tasks_status")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_tasks_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_tasks_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("campaign_id", "region_code", name=op.f("uq_tasks_campaign_id_region_code")),
    )
    op.create_index("ix_tasks_region_code_status", "tasks", ["region_code", "status"])

    op.create_table(
        "task_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("actor_unit_code", code(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.CheckConstraint("kind IN ('draft_saved', 'submitted', 'approved', 'returned', 'reminded', 'extended', "
                           "'reopened')", name=op.f("ck_task_events_kind")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_task_events_task_id_tasks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_task_events_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_events")),
    )
    op.create_index("ix_task_events_task_id", "task_events", ["task_id"])

    op.create_table(
        "census_checks",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_census_checks_task_id_tasks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_census_checks_child_id_children"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_census_checks_region_code_units")),
        sa.PrimaryKeyConstraint("task_id", "child_id", name=op.f("pk_census_checks")),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sender_code", code(), nullable=True),
        sa.Column("sender_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("read_at", ts(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_notifications_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_notifications_task_id_tasks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_notifications_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_region_code_created_at", "notifications", ["region_code", "created_at"])

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    # Rows owned by an issuing or intermediate unit: its subtree writes and reads them, and every unit below
    # reads them too (they are its ancestors' directives and notes).
    for table, column in (("campaigns", "issuer_code"), ("campaign_attachments", "issuer_code"),
                          ("campaign_receipts", "region_code")):
        in_scope = rls.in_scope(column)
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {role}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT TO {role} "
                   f"USING ({in_scope} OR {column} = ANY (shouhu_scope_ancestors()))")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO {role} WITH CHECK ({in_scope})")
        op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE TO {role} "
                   f"USING ({in_scope}) WITH CHECK ({in_scope})")
    # Drafts that were never published may be deleted by their issuer.
    op.execute(f"GRANT DELETE ON campaigns, campaign_attachments TO {role}")
    for table in ("campaigns", "campaign_attachments"):
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE TO {role} "
                   f"USING ({rls.in_scope('issuer_code')})")
    for table, privileges in (("tasks", "SELECT, INSERT, UPDATE"), ("task_events", "SELECT, INSERT"),
                              ("census_checks", "SELECT, INSERT, DELETE"),
                              ("notifications", "SELECT, INSERT, UPDATE")):
        for statement in rls.enable_tenant_rls(table, "region_code", role=role, privileges=privileges):
            op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    for table in ("notifications", "census_checks", "task_events", "tasks", "campaign_receipts",
                  "campaign_attachments", "campaigns"):
        op.drop_table(table)
