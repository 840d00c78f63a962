"""Partner reporters confined in the database lock too.

A partner reporter (role `reporter`: a school, clinic, police station... attached to a township or a county) may
file reports and follow its own reports' stage, nothing else. Its requests ran with its unit's scope, so under
row-level security alone its connection could read every child record, case, user and task of the township or
county. Its requests now carry the partner scope (hierarchy.scope.Scope.partner): `app.scope` empty, which every
existing policy reads as no rows, and two settings, `app.partner_unit` and `app.partner_user` (the partner's unit
and account). The functions below honour those settings only while `app.scope` names no unit (so they never add
to a unit's or the jobs' scope) and only within the partner's unit subtree; the policies added here open, for a
partner's scope:

- users: its own row (authentication; its login time and password, never another role), api_tokens: its own
  tokens;
- units: its unit's subtree and ancestors (names of places, the village picker);
- reports: its own reports (reading; filing one in its subtree, as itself and its unit);
- cases: its own reports' cases (reading; creating one at stage `reported` for its own report);
- case_actions: its own "filed" entries (written with the case);
- sync_outbox: the "cases" rows a filing writes (insert only).

Every other table keeps its single tenant policy and shows a partner nothing. Policies are permissive, so they
add to the tenant policies; each reads the settings through scalar sub-selects (evaluated once per statement).

Revision ID: 0019_partner_scope
Revises: 0018_case_figures
Create Date: 2026-12-01
"""
from alembic import op

from hierarchy import rls

revision = "0019_partner_scope"
down_revision = "0018_case_figures"
branch_labels = None
depends_on = None

_CODE = "'^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'"
_UNIT = "coalesce(current_setting('app.partner_unit', true), '')"
_USER = "coalesce(current_setting('app.partner_user', true), '')"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION shouhu_partner_user() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN shouhu_scope() = '' AND {_UNIT} ~ {_CODE} AND {_USER} ~ '^[1-9][0-9]{{0,8}}$'
    THEN {_USER}::integer END
$$;

CREATE OR REPLACE FUNCTION shouhu_partner_unit() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN shouhu_partner_user() IS NOT NULL THEN {_UNIT} END
$$;

CREATE OR REPLACE FUNCTION shouhu_partner_lo() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(shouhu_partner_unit(), '~')
$$;

CREATE OR REPLACE FUNCTION shouhu_partner_hi() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(shouhu_partner_unit() || ':', '')
$$;

CREATE OR REPLACE FUNCTION shouhu_partner_ancestors() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN u IS NULL THEN '{{}}'::text[] ELSE
    (ARRAY[substr(u, 1, 2), substr(u, 1, 4), substr(u, 1, 6), substr(u, 1, 9)])[1:(CASE length(u) WHEN 2 THEN 0
                                                WHEN 4 THEN 1 WHEN 6 THEN 2 WHEN 9 THEN 3 ELSE 4 END)] END
  FROM (SELECT shouhu_partner_unit() AS u) AS x
$$;
"""
FUNCTION_NAMES = ("shouhu_partner_ancestors", "shouhu_partner_hi", "shouhu_partner_lo", "shouhu_partner_unit",
                  "shouhu_partner_user")

_PU = "(SELECT shouhu_partner_user())"
_OWN_REPORTS = f"(SELECT r.id FROM reports AS r WHERE r.reporter_user_id = {_PU})"
_OWN_CASES = f"(SELECT c.id FROM cases AS c WHERE c.report_id IN {_OWN_REPORTS})"


def _policies() -> list[tuple[str, str, str, str | None, str | None]]:
    """(table, policy, command, USING, WITH CHECK)."""
    within = rls.in_partner_scope
    own_user = f"id = {_PU} AND {within('region_code')}"
    own_token = f"user_id = {_PU} AND {within('region_code')}"
    own_report = f"reporter_user_id = {_PU} AND {within('region_code')}"
    own_case = f"{within('region_code')} AND report_id IN {_OWN_REPORTS}"
    own_filed = f"{within('region_code')} AND kind = 'filed' AND by_user_id = {_PU}"
    return [
        ("users", "users_partner_read", "SELECT", own_user, None),
        # Its login time and password; it stays a partner (a role it gave itself would open its unit's scope).
        ("users", "users_partner_update", "UPDATE", own_user, f"{own_user} AND role = 'reporter'"),
        ("api_tokens", "api_tokens_partner_read", "SELECT", own_token, None),
        ("api_tokens", "api_tokens_partner_insert", "INSERT", None, own_token),
        ("api_tokens", "api_tokens_partner_update", "UPDATE", own_token, own_token),
        ("units", "units_partner_read", "SELECT",
         f"{within('code')} OR code = ANY ((SELECT shouhu_partner_ancestors())::text[])", None),
        ("reports", "reports_partner_read", "SELECT", own_report, None),
        ("reports", "reports_partner_insert", "INSERT", None,
         f"{own_report} AND reporter_unit_code = (SELECT shouhu_partner_unit())"),
        ("cases", "cases_partner_read", "SELECT", own_case, None),
        ("cases", "cases_partner_insert", "INSERT", None, f"{own_case} AND stage = 'reported'"),
        ("case_actions", "case_actions_partner_read", "SELECT", own_filed, None),
        ("case_actions", "case_actions_partner_insert", "INSERT", None,
         f"{own_filed} AND by_unit_code = (SELECT shouhu_partner_unit()) AND case_id IN {_OWN_CASES}"),
        ("sync_outbox", "sync_outbox_partner_insert", "INSERT", None,
         f"{within('region_code')} AND kind = 'cases'"),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    op.execute(FUNCTIONS)
    for name in FUNCTION_NAMES:
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}() TO {role}")
    for table, name, command, using, check in _policies():
        clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"CREATE POLICY {name} ON {table} FOR {command} TO {role}{clauses}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, _, _, _ in _policies():
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    for name in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
