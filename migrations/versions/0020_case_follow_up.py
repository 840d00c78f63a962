"""Follow-up visits on the clock: each province's interval between follow-up visits by the case's risk level,
and the day of a case's last follow-up visit.

Revision ID: 0020_case_follow_up
Revises: 0019_partner_scope
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_case_follow_up"
down_revision = "0019_partner_scope"
branch_labels = None
depends_on = None

# Days between follow-up visits by risk level (tenant_app.cases.deadlines.DEFAULTS).
INTERVALS = {"follow_up_high_days": "7", "follow_up_medium_days": "15", "follow_up_low_days": "30"}
CHECK = " AND ".join(f"{name} BETWEEN 1 AND 180" for name in INTERVALS)


def upgrade() -> None:
    with op.batch_alter_table("case_policies") as batch:
        for name, default in INTERVALS.items():
            batch.add_column(sa.Column(name, sa.SmallInteger(), nullable=False, server_default=default))
        batch.create_check_constraint("follow_up", CHECK)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("last_follow_up_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("last_follow_up_at")
    with op.batch_alter_table("case_policies") as batch:
        batch.drop_constraint("follow_up", type_="check")
        for name in INTERVALS:
            batch.drop_column(name)
