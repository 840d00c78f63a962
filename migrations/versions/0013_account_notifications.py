"""Forced password change, and notifications addressed to one user with a title and a link.

`users.must_change_password` is set when an admin creates an account or resets its password: the person must
choose their own password before doing anything else. Notifications gain an optional recipient user (NULL: the
whole unit), a title and a link inside the site, so the notification centre can list returns, approvals and
transfers beside reminders. Their row-level security is unchanged (the recipient unit's scope).

Revision ID: 0013_account_notifications
Revises: 0012_security_alerts
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_account_notifications"
down_revision = "0012_security_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("title", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("link", sa.String(length=300), nullable=False, server_default=""))
        batch.create_foreign_key(op.f("fk_notifications_user_id_users"), "users", ["user_id"], ["id"],
                                 ondelete="CASCADE")
    # The centre lists a unit's notifications unread first, newest first.
    op.create_index("ix_notifications_region_code_read_at", "notifications", ["region_code", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_region_code_read_at", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f("fk_notifications_user_id_users"), type_="foreignkey")
        batch.drop_column("link")
        batch.drop_column("title")
        batch.drop_column("user_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
