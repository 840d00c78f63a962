"""`unit_campaign_stats.level`: the roll-up reads a level's stored rows by (level, code range) through an index.

The roll-up sums a level's campaign figures from the rows of the level below. It found those rows by
`length(unit_code)`, which is not leakproof: under the jobs role's row-level security PostgreSQL may not use
it in an index condition, so a province's step walked every stored row of the province (56,000 at a
province's size) on every drain. `unit_stats` has kept its level for the same reason since migration 0007.

Revision ID: 0030_campaign_stats_level
Revises: 0029_citus_ready
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0030_campaign_stats_level"
down_revision = "0029_citus_ready"
branch_labels = None
depends_on = None

_LEVEL_OF_CODE = "CASE length(unit_code) WHEN 2 THEN 1 WHEN 4 THEN 2 WHEN 6 THEN 3 WHEN 9 THEN 4 ELSE 5 END"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.scope', '*', true)")  # the backfill writes every tenant's rows
    with op.batch_alter_table("unit_campaign_stats") as batch:
        batch.add_column(sa.Column("level", sa.SmallInteger(), nullable=True))
    op.execute(f"UPDATE unit_campaign_stats SET level = {_LEVEL_OF_CODE}")
    with op.batch_alter_table("unit_campaign_stats") as batch:
        batch.alter_column("level", existing_type=sa.SmallInteger(), nullable=False)
    op.create_index("ix_unit_campaign_stats_level_unit_code", "unit_campaign_stats", ["level", "unit_code"])


def downgrade() -> None:
    op.drop_index("ix_unit_campaign_stats_level_unit_code", table_name="unit_campaign_stats")
    with op.batch_alter_table("unit_campaign_stats") as batch:
        batch.drop_column("level")
