"""sync_outbox: a unit may see whether roll-ups are pending for its ancestors too.

Campaign progress is served from the stored figures only while no roll-up that could change them is pending
(tenant_app.campaigns.progress); a province's fan-out or deadline extension leaves its row under the province's
code, which a county must see to know its stored figures are behind. Outbox rows hold a unit code, a kind and
a time: nothing about a child. Writing and deleting stay within the subtree.

Revision ID: 0010_outbox_ancestor_read
Revises: 0009_policy_initplans
Create Date: 2026-11-23
"""
from alembic import op

from hierarchy import rls

revision = "0010_outbox_ancestor_read"
down_revision = "0009_policy_initplans"
branch_labels = None
depends_on = None

_ANCESTORS = "region_code = ANY ((SELECT shouhu_scope_ancestors())::text[])"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    in_scope = rls.in_scope("region_code")
    op.execute("DROP POLICY IF EXISTS sync_outbox_tenant ON sync_outbox")
    op.execute(f"CREATE POLICY sync_outbox_read ON sync_outbox FOR SELECT TO {role} "
               f"USING ({in_scope} OR {_ANCESTORS})")
    op.execute(f"CREATE POLICY sync_outbox_insert ON sync_outbox FOR INSERT TO {role} WITH CHECK ({in_scope})")
    op.execute(f"CREATE POLICY sync_outbox_delete ON sync_outbox FOR DELETE TO {role} USING ({in_scope})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for name in ("read", "insert", "delete"):
        op.execute(f"DROP POLICY IF EXISTS sync_outbox_{name} ON sync_outbox")
    predicate = rls.in_scope("region_code")
    op.execute(f"CREATE POLICY sync_outbox_tenant ON sync_outbox TO {role} USING ({predicate}) "
               f"WITH CHECK ({predicate})")
