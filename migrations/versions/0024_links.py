"""Horizontal links (横向互联): partner department accounts (role `department`), their rolls by dated version,
match runs and matches against the child records, the pinyin keys of children's names; RLS.

A department (education, public security, assistance office, disabled persons' and women's federations) is an
account of a county, city or province with the role `department` and the department's kind in `org_kind`. Its
requests carry the partner scope (migration 0019: no unit, `app.partner_unit`/`app.partner_user`), so every
tenant policy shows it nothing; the policies added here open its own department's uploads, rows, runs and
matches (its unit exactly, its own account's kind), and its own account row for login (`users_department_update`).
Filing reports stays the partner reporters' alone: `reports_partner_insert` now asks the filer's role.

Uploads, rows and runs belong to the department's unit; a match to the matched child's village, so that the
county reviewing it sees it by the subtree rule. The match job runs in the department's unit scope.

Revision ID: 0024_links
Revises: 0022_workforce_training
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code
from tenant_app.links import enums as E

revision = "0024_links"
down_revision = "0022_workforce_training"
branch_labels = None
depends_on = None

TABLES = ("child_name_keys", "roll_matches", "roll_match_runs", "roll_rows", "roll_uploads")
OLD_KINDS = "'school', 'kindergarten', 'clinic', 'social_work', 'police'"
_PU = "(SELECT shouhu_partner_user())"
_OWN_KIND = f"(SELECT u.org_kind FROM users AS u WHERE u.id = {_PU} AND u.role = 'department')"
_OWN_DEPT = f"dept_unit = (SELECT shouhu_partner_unit()) AND dept_kind = {_OWN_KIND}"
_OWN_USER = f"id = {_PU} AND {rls.in_partner_scope('region_code')}"
_REPORT_FILER = f"{_PU} IN (SELECT u.id FROM users AS u WHERE u.role = 'reporter')"


# A partner's own row stays what it is: under the partner scope neither a reporter nor a department changes its
# role or kind (the update policies see only the new row; this sees the old one too).
KEEP_ROLE = """
CREATE OR REPLACE FUNCTION shouhu_partner_keeps_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('app.scope', true), '') = '' AND coalesce(current_setting('app.partner_user', true), '')
       <> '' AND (NEW.role IS DISTINCT FROM OLD.role OR NEW.org_kind IS DISTINCT FROM OLD.org_kind) THEN
    RAISE EXCEPTION 'refused by row-level security: a partner account keeps its role and kind' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS users_partner_keeps_role ON users;
CREATE TRIGGER users_partner_keeps_role BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION shouhu_partner_keeps_role();
"""


def ts():
    return sa.DateTime(timezone=True)


def _in(table: str, column: str, values) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({E.sql_in(values)})", name=op.f(f"ck_{table}_{column}"))


def _owner(table: str) -> list:
    return [sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("region_code", code(), nullable=False),
            sa.Column("dept_unit", code(), nullable=False),
            sa.Column("dept_kind", sa.String(20), nullable=False),
            sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f(f"fk_{table}_region_code_units")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))]


def _users_checks(kinds: str, roles: str, department: bool) -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("ck_users_org_kind", type_="check")
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", f"role IN ({roles})")
        clause = f"(role = 'reporter' AND org_kind IN ({OLD_KINDS})) "
        if department:
            clause += f"OR (role = 'department' AND org_kind IN ({kinds})) "
        clause += "OR (role NOT IN ('reporter', 'department') AND org_kind IS NULL)"
        batch.create_check_constraint("ck_users_org_kind", clause)


def upgrade() -> None:
    _users_checks(E.sql_in(E.DEPT_KINDS), "'admin', 'staff', 'viewer', 'reporter', 'department'", True)
    op.create_table(
        "roll_uploads", *_owner("roll_uploads"),
        sa.Column("roll_kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("staged", sa.JSON(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("confirmed_at", ts(), nullable=True),
        _in("roll_uploads", "status", E.UPLOAD_STATUSES),
        _in("roll_uploads", "roll_kind", E.ROLL_KINDS),
    )
    op.create_index("ix_roll_uploads_dept", "roll_uploads", ["dept_unit", "dept_kind", "roll_kind", "version"])
    # One current version per department and roll kind.
    op.create_index("uq_roll_uploads_current", "roll_uploads", ["dept_unit", "dept_kind", "roll_kind"],
                    unique=True, postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current"))
    op.create_table(
        "roll_rows", *_owner("roll_rows"),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("roll_uploads.id"), nullable=False),
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
    )
    op.create_index("ix_roll_rows_upload_id_id", "roll_rows", ["upload_id", "id"])
    op.create_table(
        "roll_match_runs", *_owner("roll_match_runs"),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("roll_uploads.id"), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        sa.Column("grey", sa.Integer(), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("finished_at", ts(), nullable=True),
        _in("roll_match_runs", "status", E.RUN_STATUSES),
    )
    op.create_index("ix_roll_match_runs_upload_id", "roll_match_runs", ["upload_id"])
    op.create_table(
        "roll_matches", *_owner("roll_matches"),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("roll_uploads.id"), nullable=False),
        sa.Column("row_id", sa.Integer(), sa.ForeignKey("roll_rows.id"), nullable=False),
        sa.Column("child_id", sa.Integer(), sa.ForeignKey("children.id"), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("roll_name", sa.String(64), nullable=False),
        sa.Column("roll_sex", sa.String(8), nullable=True),
        sa.Column("roll_birth_date", sa.Date(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", ts(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _in("roll_matches", "status", E.MATCH_STATUSES),
        _in("roll_matches", "method", E.METHODS),
    )
    op.create_index("ix_roll_matches_upload_id_row_id", "roll_matches", ["upload_id", "row_id"])
    op.create_index("ix_roll_matches_region_code_status", "roll_matches", ["region_code", "status"])
    # Fuzzy matching looks records up by birth date within an area.
    op.create_index("ix_children_birth_date_region_code", "children", ["birth_date", "region_code"])
    op.create_table(
        "child_name_keys",
        sa.Column("child_id", sa.Integer(), sa.ForeignKey("children.id"), nullable=False),
        sa.Column("region_code", code(), sa.ForeignKey("units.code"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_pinyin", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name=op.f("pk_child_name_keys")),
    )
    op.create_index("ix_child_name_keys_region_code", "child_name_keys", ["region_code"])

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for table in TABLES:
        privileges = "SELECT, INSERT, UPDATE" + (", DELETE" if table == "child_name_keys" else "")
        for statement in rls.enable_tenant_rls(table, "region_code", role=role, privileges=privileges):
            op.execute(statement)
        if table != "child_name_keys":
            op.execute(f"CREATE POLICY {table}_department_read ON {table} FOR SELECT TO {role} USING ({_OWN_DEPT})")
    for table in ("roll_uploads", "roll_rows", "roll_match_runs"):
        op.execute(f"CREATE POLICY {table}_department_insert ON {table} FOR INSERT TO {role} "
                   f"WITH CHECK ({_OWN_DEPT} AND region_code = dept_unit)")
    op.execute(f"CREATE POLICY roll_uploads_department_update ON roll_uploads FOR UPDATE TO {role} "
               f"USING ({_OWN_DEPT}) WITH CHECK ({_OWN_DEPT} AND region_code = dept_unit)")
    op.execute(f"CREATE POLICY users_department_update ON users FOR UPDATE TO {role} "
               f"USING ({_OWN_USER}) WITH CHECK ({_OWN_USER} AND role = 'department')")
    op.execute("DROP POLICY IF EXISTS reports_partner_insert ON reports")
    op.execute(f"CREATE POLICY reports_partner_insert ON reports FOR INSERT TO {role} WITH CHECK ("
               f"reporter_user_id = {_PU} AND {rls.in_partner_scope('region_code')} "
               f"AND reporter_unit_code = (SELECT shouhu_partner_unit()) AND {_REPORT_FILER})")
    op.execute(KEEP_ROLE)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        role = rls.app_role()
        op.execute("DROP TRIGGER IF EXISTS users_partner_keeps_role ON users")
        op.execute("DROP FUNCTION IF EXISTS shouhu_partner_keeps_role()")
        op.execute("DROP POLICY IF EXISTS users_department_update ON users")
        op.execute("DROP POLICY IF EXISTS reports_partner_insert ON reports")
        op.execute(f"CREATE POLICY reports_partner_insert ON reports FOR INSERT TO {role} WITH CHECK ("
                   f"reporter_user_id = {_PU} AND {rls.in_partner_scope('region_code')} "
                   f"AND reporter_unit_code = (SELECT shouhu_partner_unit()))")
    for table in TABLES:
        op.drop_table(table)
    op.drop_index("ix_children_birth_date_region_code", table_name="children")
    # Refused while department accounts exist (the old checks fail): they are removed first.
    _users_checks("", "'admin', 'staff', 'viewer', 'reporter'", False)
