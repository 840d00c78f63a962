"""`province_code` on every tenant table that lacked it: the first two digits of the row's own division code
(`region_code`, a campaign's `issuer_code`, a figure row's `unit_code`), the distribution key of a Citus
deployment (deploy/citus/SCHEMA.md).

The ORM fills it (hierarchy.province); a statement that does not name it gets it from a trigger, which runs only
when the value is missing or stale (its WHEN clause is checked without calling the function). On PostgreSQL the
column is NOT NULL with a CHECK that it equals its code column's first two digits. On SQLite (the quick start) an
AFTER trigger fills it, so the column stays nullable there.

Revision ID: 0028_province_code
Revises: 0027_links_scale
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from hierarchy.models import code_column_type as code

revision = "0028_province_code"
down_revision = "0027_links_scale"
branch_labels = None
depends_on = None

# table: the column its province is read from (as of this revision; hierarchy.province keeps the current list).
SOURCES = {
    **dict.fromkeys((
        "api_tokens", "audit_events", "campaign_receipts", "case_actions", "case_children", "case_reads",
        "census_checks", "child_changes", "child_imports", "child_name_keys", "child_transfers", "notifications",
        "reports", "roll_match_runs", "roll_matches", "roll_rows", "roll_staged_rows", "roll_uploads",
        "roster_appointments", "roster_covers", "roster_imports", "roster_reads", "security_alerts", "sync_outbox",
        "task_events", "tasks", "training_attendance", "training_courses", "users", "visits", "worklist_items",
    ), "region_code"),
    **dict.fromkeys((
        "campaign_attachments", "campaigns",
    ), "issuer_code"),
    **dict.fromkeys((
        "unit_campaign_stats", "unit_stats", "unit_stats_monthly",
    ), "unit_code"),
}


def _function(source: str) -> str:
    return f"shouhu_province_from_{source}"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # The backfill reads every tenant's rows: the all-tenants scope, which the policies honour for members of
        # the jobs role (the migrating login is one, migration 0011), for this transaction.
        op.execute("SELECT set_config('app.scope', '*', true)")
        for source in sorted(set(SOURCES.values())):
            op.execute(f"""CREATE OR REPLACE FUNCTION {_function(source)}() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN NEW.province_code := substr(NEW.{source}, 1, 2); RETURN NEW; END $$""")
    for table, source in sorted(SOURCES.items()):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("province_code", code(2), nullable=True))
        op.execute(f"UPDATE {table} SET province_code = substr({source}, 1, 2)")
        if postgres:
            op.alter_column(table, "province_code", nullable=False)
            op.create_check_constraint(op.f(f"ck_{table}_province_code"), table,
                                       f"province_code = substr({source}, 1, 2)")
            op.execute(f"CREATE TRIGGER {table}_province_code BEFORE INSERT ON {table} FOR EACH ROW "
                       f"WHEN (NEW.province_code IS NULL) EXECUTE FUNCTION {_function(source)}()")
            op.execute(f"CREATE TRIGGER {table}_province_moved BEFORE UPDATE OF {source} ON {table} FOR EACH ROW "
                       f"WHEN (NEW.province_code IS DISTINCT FROM substr(NEW.{source}, 1, 2)) "
                       f"EXECUTE FUNCTION {_function(source)}()")
        else:
            op.execute(f"CREATE TRIGGER {table}_province_code AFTER INSERT ON {table} "
                       f"WHEN NEW.province_code IS NULL BEGIN UPDATE {table} SET province_code = "
                       f"substr(NEW.{source}, 1, 2) WHERE rowid = NEW.rowid; END")
            op.execute(f"CREATE TRIGGER {table}_province_moved AFTER UPDATE OF {source} ON {table} "
                       f"BEGIN UPDATE {table} SET province_code = substr(NEW.{source}, 1, 2) "
                       f"WHERE rowid = NEW.rowid; END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in sorted(SOURCES):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_province_code" + (f" ON {table}" if postgres else ""))
        op.execute(f"DROP TRIGGER IF EXISTS {table}_province_moved" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.drop_constraint(op.f(f"ck_{table}_province_code"), table, type_="check")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("province_code")
    if postgres:
        for source in sorted(set(SOURCES.values())):
            op.execute(f"DROP FUNCTION IF EXISTS {_function(source)}()")
