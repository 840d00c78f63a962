"""Horizontal links at province scale: a dry run's valid rows are staged in a table of their own instead of a JSON
list on the upload, and unconfirmed dry runs can be purged.

`roll_staged_rows` holds the checked rows of a dry run until it is confirmed (moved into `roll_rows` with one
INSERT ... SELECT) or purged (unconfirmed for more than a day). It is UNLOGGED: staging millions of rows writes no
WAL, and a crash that empties it only means the dry run must be repeated (confirming checks the staged count).
Same owner columns and RLS as `roll_rows`: the department's unit, its own kind for a department's account; the
department's account may also delete its own staged rows and unconfirmed uploads (purge on its next upload).
`roll_uploads.staged` (the JSON list) is dropped: a 3,000,000-row roll does not fit in one JSON value.
`roll_matches` loses its foreign keys (the match job writes it from joins of the rows they named; their checks
were most of the exact step's time).

Revision ID: 0027_links_scale
Revises: 0026_worklists
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0027_links_scale"
down_revision = "0026_worklists"
branch_labels = None
depends_on = None

_PU = "(SELECT shouhu_partner_user())"
_OWN_KIND = f"(SELECT u.org_kind FROM users AS u WHERE u.id = {_PU} AND u.role = 'department')"
_OWN_DEPT = f"dept_unit = (SELECT shouhu_partner_unit()) AND dept_kind = {_OWN_KIND}"


MATCH_KEYS = ("fk_roll_matches_region_code_units", "fk_roll_matches_upload_id_roll_uploads",
              "fk_roll_matches_row_id_roll_rows", "fk_roll_matches_child_id_children")


def upgrade() -> None:
    op.create_table(
        "roll_staged_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        # No foreign key: every row's unit is the upload's department's (the RLS policy checks it), and a
        # key check per row would cost more than the rest of the insert.
        sa.Column("region_code", code(), nullable=False),
        sa.Column("dept_unit", code(), nullable=False),
        sa.Column("dept_kind", sa.String(20), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("student_no", sa.String(40), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_pinyin", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(8), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_swapped", sa.Date(), nullable=True),
        sa.Column("area_code", code(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roll_staged_rows")),
        prefixes=["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else [],
    )
    op.create_index("ix_roll_staged_rows_upload_id", "roll_staged_rows", ["upload_id"])
    with op.batch_alter_table("roll_uploads") as batch:
        batch.drop_column("staged")
    op.create_index("ix_roll_uploads_status_created_at", "roll_uploads", ["status", "created_at"])
    # roll_matches rows are written only by the match job, from joins of the very rows their keys name: their
    # four foreign keys cost four key checks per match (a province's exact step links a million rows), most of
    # its time. They go; the job's joins are what guarantee the references.
    with op.batch_alter_table("roll_matches") as batch:
        for name in MATCH_KEYS:
            batch.drop_constraint(name, type_="foreignkey")
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for statement in rls.enable_tenant_rls("roll_staged_rows", "region_code", role=role):
        op.execute(statement)
    op.execute(f"CREATE POLICY roll_staged_rows_department_read ON roll_staged_rows FOR SELECT TO {role} "
               f"USING ({_OWN_DEPT})")
    op.execute(f"CREATE POLICY roll_staged_rows_department_insert ON roll_staged_rows FOR INSERT TO {role} "
               f"WITH CHECK ({_OWN_DEPT} AND region_code = dept_unit)")
    op.execute(f"CREATE POLICY roll_staged_rows_department_delete ON roll_staged_rows FOR DELETE TO {role} "
               f"USING ({_OWN_DEPT})")
    # Purging a stale dry run removes the upload itself (never a confirmed one: the policy says so too).
    op.execute(f"GRANT DELETE ON roll_uploads TO {role}")
    op.execute(f"CREATE POLICY roll_uploads_department_delete ON roll_uploads FOR DELETE TO {role} "
               f"USING ({_OWN_DEPT} AND status <> 'confirmed')")
    op.execute(f"CREATE POLICY roll_uploads_keep_confirmed ON roll_uploads AS RESTRICTIVE FOR DELETE TO {role} "
               "USING (status <> 'confirmed')")
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        role = rls.app_role()
        op.execute("DROP POLICY IF EXISTS roll_uploads_keep_confirmed ON roll_uploads")
        op.execute("DROP POLICY IF EXISTS roll_uploads_department_delete ON roll_uploads")
        op.execute(f"REVOKE DELETE ON roll_uploads FROM {role}")
    with op.batch_alter_table("roll_matches") as batch:
        batch.create_foreign_key("fk_roll_matches_region_code_units", "units", ["region_code"], ["code"])
        batch.create_foreign_key("fk_roll_matches_upload_id_roll_uploads", "roll_uploads", ["upload_id"], ["id"])
        batch.create_foreign_key("fk_roll_matches_row_id_roll_rows", "roll_rows", ["row_id"], ["id"])
        batch.create_foreign_key("fk_roll_matches_child_id_children", "children", ["child_id"], ["id"])
    op.drop_index("ix_roll_uploads_status_created_at", table_name="roll_uploads")
    with op.batch_alter_table("roll_uploads") as batch:
        batch.add_column(sa.Column("staged", sa.JSON(), nullable=True))
    op.drop_table("roll_staged_rows")
