"""What the distributed deployment needs of the schema (deploy/citus/SCHEMA.md), on every back-end:

- `children.province_code` in the "C" collation like every other code column: tables are co-located only when
  their distribution columns have the same type and collation.
- A partner's access to its own cases without a look-up in `reports`: `cases.reporter_user_id` (the report's
  filing account, copied when the case is opened) and `case_actions.partner_user_id` (a partner's own entry),
  which a foreign key holds equal to its case's reporter. A policy can then read both from the row itself.
- `shouhu_partner_user()` casts only what matches its pattern (a non-matching setting gives NULL, not an error):
  a Citus coordinator evaluates the casts of a modification's policies on their own, outside the CASE that
  guarded them, and an empty setting then failed every update of a reference table.
- Two STABLE functions for the policies that read an account (`users`): a department's organisation kind and
  whether an account is a partner reporter. The single server keeps its policies; a Citus coordinator's
  policies call these instead of sub-selects, which Citus refuses (hierarchy.citus_schema).

Revision ID: 0029_citus_ready
Revises: 0028_province_code
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0029_citus_ready"
down_revision = "0028_province_code"
branch_labels = None
depends_on = None

# As the authentication functions (migrations 0011, 0016): run as their owner with the all-tenants scope, in
# PL/pgSQL so that the query's plan is kept. The account is an argument: inside the function the caller's
# partner settings are not what shouhu_partner_user() would read.
_HEADER = "LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp SET app.scope = '*'"
FUNCTIONS = {
    "shouhu_partner_org_kind(integer)": """CREATE OR REPLACE FUNCTION shouhu_partner_org_kind(p_user_id integer)
RETURNS text {header} AS $$
BEGIN RETURN (SELECT org_kind::text FROM users WHERE id = p_user_id AND role = 'department'); END $$""",
    "shouhu_partner_is_reporter(integer)": """CREATE OR REPLACE FUNCTION shouhu_partner_is_reporter(p_user_id integer)
RETURNS boolean {header} AS $$
BEGIN RETURN EXISTS (SELECT 1 FROM users WHERE id = p_user_id AND role = 'reporter'); END $$""",
}


_PARTNER_USER = """CREATE OR REPLACE FUNCTION shouhu_partner_user() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN shouhu_scope() = ''
    AND coalesce(current_setting('app.partner_unit', true), '') ~ '^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'
    THEN CAST(substring(coalesce(current_setting('app.partner_user', true), '') FROM '^[1-9][0-9]{0,8}$') AS integer)
  END
$$"""

_PARTNER_USER_BEFORE = """CREATE OR REPLACE FUNCTION shouhu_partner_user() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN shouhu_scope() = ''
    AND coalesce(current_setting('app.partner_unit', true), '') ~ '^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'
    AND coalesce(current_setting('app.partner_user', true), '') ~ '^[1-9][0-9]{0,8}$'
    THEN coalesce(current_setting('app.partner_user', true), '')::integer END
$$"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("SELECT set_config('app.scope', '*', true)")  # the backfills read every tenant's rows
        op.alter_column("children", "province_code", type_=code(2), existing_nullable=False)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reporter_user_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("case_actions") as batch:
        batch.add_column(sa.Column("partner_user_id", sa.Integer(), nullable=True))
    op.execute("UPDATE cases SET reporter_user_id = (SELECT r.reporter_user_id FROM reports AS r "
               "WHERE r.id = cases.report_id)")
    op.execute("UPDATE case_actions SET partner_user_id = by_user_id WHERE kind = 'filed' AND by_user_id IN "
               "(SELECT u.id FROM users AS u WHERE u.role IN ('reporter', 'department')) AND by_user_id = "
               "(SELECT c.reporter_user_id FROM cases AS c WHERE c.id = case_actions.case_id)")
    if not postgres:
        return  # the quick start: the columns; the keys and functions serve PostgreSQL's policies
    op.create_unique_constraint("uq_cases_id_reporter_user_id", "cases", ["id", "reporter_user_id"])
    op.create_foreign_key("fk_case_actions_case_id_cases_reporter", "case_actions", "cases",
                          ["case_id", "partner_user_id"], ["id", "reporter_user_id"], ondelete="CASCADE")
    op.execute(_PARTNER_USER)
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
    for signature, body in FUNCTIONS.items():
        op.execute(body.format(header=_HEADER.format(schema=schema)))
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {rls.app_role()}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for signature in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
        op.execute(_PARTNER_USER_BEFORE)
        op.drop_constraint("fk_case_actions_case_id_cases_reporter", "case_actions", type_="foreignkey")
        op.drop_constraint("uq_cases_id_reporter_user_id", "cases", type_="unique")
        op.alter_column("children", "province_code", type_=sa.String(2), existing_nullable=False)
    with op.batch_alter_table("case_actions") as batch:
        batch.drop_column("partner_user_id")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reporter_user_id")
