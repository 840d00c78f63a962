"""Partner reporters: a least-privilege role for schools, kindergartens, clinics, social-work organisations and
police stations, which file mandatory reports and follow their own reports' status. The account carries the
organisation's kind and name (what the handling county sees as the reporter).

Revision ID: 0017_partner_reporters
Revises: 0016_planned_once
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_partner_reporters"
down_revision = "0016_planned_once"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("org_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("org_name", sa.String(100), nullable=False, server_default=""))
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", "role IN ('admin', 'staff', 'viewer', 'reporter')")
        # A partner account always names its organisation; other accounts never do.
        batch.create_check_constraint(
            "ck_users_org_kind",
            "(role = 'reporter' AND org_kind IN ('school', 'kindergarten', 'clinic', 'social_work', 'police')) "
            "OR (role <> 'reporter' AND org_kind IS NULL)")


def downgrade() -> None:
    # Refused while partner accounts exist (the old role check fails): they are disabled and removed first.
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("ck_users_org_kind", type_="check")
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", "role IN ('admin', 'staff', 'viewer')")
        batch.drop_column("org_name")
        batch.drop_column("org_kind")
