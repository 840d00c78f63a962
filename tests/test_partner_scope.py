"""Partner reporters confined in both locks (migration 0019).

A partner's requests carry the partner scope (Scope.partner): under row-level security alone, as the
application's role, that scope shows its own account and tokens, the units of its subtree and above, its own
reports with their cases and "filed" entries, and nothing else (no children, other users, tasks, campaigns,
visits, figures, other reports or anyone's narrative); it files a report in a village of its subtree and nothing
outside. The application lock (loader criteria and the flush check) says the same.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hierarchy.scope import Scope, ScopeViolation, apply_db_scope, scoped
from tenant_app.auth.models import User
from tenant_app.auth.services import load_session_user, load_token_user
from tenant_app.cases.models import Case, CaseAction, Report
from tenant_app.children.models import Child
from tenant_app.db import db
from tests import cases_factories, tasks_factories, test_cases_isolation, test_isolation
from tests.cases_factories import COUNTY, OTHER_COUNTY, OTHER_COUNTY_VILLAGE, TOWNSHIP, VILLAGE, report_body
from tests.conftest import PASSWORD

person = cases_factories.person
new_child = cases_factories.new_child
file_report = cases_factories.file_report
post_case = cases_factories.post_case
make_campaign = tasks_factories.make_campaign
assessed_case = test_cases_isolation.assessed_case

# The tables a partner's scope may show rows of; every other table under RLS shows it none.
PARTNER_TABLES = {"users", "api_tokens", "units", "reports", "cases", "case_actions"}


@pytest.fixture
def partner_sql(db_connection):
    """partner_sql(user, sql, **params): raw SQL on the application-role connection with the database scope a
    partner's request gets (RLS only)."""

    def run(who, sql: str, /, **params):
        with db_connection.begin_nested():
            apply_db_scope(db_connection, Scope.partner(who.region_code, who.id))
            result = db_connection.execute(text(sql), params)
            return result.all() if result.returns_rows else result.rowcount

    return run


@pytest.fixture
def partners(client, person):
    """Two partners of the same township (a school, a clinic), each with one report filed through the API:
    {"a": (user, headers, case_id), "b": ...}."""
    made = {}
    for key in ("a", "b"):
        user, headers = person(TOWNSHIP, "reporter") if key == "a" else _second_partner(person)
        response = client.post("/api/v1/reports", json=report_body(narrative=f"伙伴{key}的报告：孩子独自在家"),
                               headers=headers)
        assert response.status_code == 201, response.get_json()
        made[key] = (user, headers, response.get_json()["id"])
    return made


def _second_partner(person):
    # person() keeps one user per (unit, role): the second partner is attached to the county.
    return person(COUNTY, "reporter")


def _rls_tables(db_connection) -> list[str]:
    rows = db_connection.execute(text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity "
                                      "AND relnamespace = current_schema()::regnamespace ORDER BY relname"))
    return [row[0] for row in rows]


def test_under_rls_alone_a_partner_sees_its_own_reports_and_nothing_else(
        db_connection, scoped_sql, partner_sql, partners, assessed_case, make_campaign):
    make_campaign()
    partner, _, case_id = partners["a"]
    # The township's scope holds plenty a partner must not see.
    for table in ("children", "users", "reports", "cases", "case_children", "case_actions", "tasks"):
        assert scoped_sql(TOWNSHIP, f"SELECT count(*) FROM {table}")[0][0] > 0, table

    tables = _rls_tables(db_connection)
    assert {"children", "visits", "tasks", "campaigns", "unit_stats", "sync_outbox"} <= set(tables)
    for table in tables:
        if table not in PARTNER_TABLES:
            assert partner_sql(partner, f"SELECT count(*) FROM {table}")[0][0] == 0, table

    assert partner_sql(partner, "SELECT id FROM users") == [(partner.id,)]
    assert {row[0] for row in partner_sql(partner, "SELECT user_id FROM api_tokens")} == {partner.id}
    assert partner_sql(partner, "SELECT count(*) FROM units WHERE code NOT LIKE :sub AND code <> ALL(:up)",
                       sub=f"{TOWNSHIP}%", up=["44", "4402", COUNTY])[0][0] == 0
    assert partner_sql(partner, "SELECT count(*) FROM units WHERE code = :v", v=VILLAGE)[0][0] == 1

    reports = partner_sql(partner, "SELECT r.reporter_user_id, c.id, c.stage FROM reports AS r "
                                   "JOIN cases AS c ON c.report_id = r.id")
    assert reports == [(partner.id, case_id, "reported")]
    assert partner_sql(partner, "SELECT id FROM cases") == [(case_id,)]
    actions = partner_sql(partner, "SELECT case_id, kind, by_user_id FROM case_actions")
    assert actions == [(case_id, "filed", partner.id)]
    # The staff's case (narrative, children, assessment on the timeline) is not there at all.
    staff_case = assessed_case["id"]
    for table, column in (("cases", "id"), ("case_actions", "case_id"), ("case_children", "case_id"),
                          ("case_reads", "case_id")):
        assert partner_sql(partner, f"SELECT count(*) FROM {table} WHERE {column} = :id",
                           id=staff_case)[0][0] == 0, table


def test_a_sibling_partner_sees_nothing_of_anothers_reports(partner_sql, partners):
    (a, _, case_a), (b, _, case_b) = partners["a"], partners["b"]
    assert case_a != case_b
    for me, mine, other in ((a, case_a, case_b), (b, case_b, case_a)):
        assert partner_sql(me, "SELECT id FROM cases") == [(mine,)]
        assert partner_sql(me, "SELECT count(*) FROM reports WHERE reporter_user_id <> :me", me=me.id)[0][0] == 0
        assert partner_sql(me, "SELECT count(*) FROM case_actions WHERE case_id = :id", id=other)[0][0] == 0
        assert partner_sql(me, "SELECT id FROM users") == [(me.id,)]


REPORT_INSERT = ("INSERT INTO reports (region_code, occurred_village_code, category, urgency, occurred_at, "
                 "narrative, unknown_child_description, reporter_kind, reporter_name, reporter_contact, "
                 "reporter_user_id, reporter_unit_code, filed_at) VALUES (:village, :village, 'living_alone', "
                 "'normal', now(), '独自在家', '约8岁', 'school', '张老师', '139', :user, :unit, now()) RETURNING id")
CASE_INSERT = ("INSERT INTO cases (region_code, township_code, county_code, province_code, report_id, category, "
               "urgency, stage, guardianship_intervention, screen_out_reason, outcome_summary, reported_at, "
               "cycle_started_at, reopen_count, version, updated_at) SELECT v, substr(v, 1, 9), substr(v, 1, 6), "
               "substr(v, 1, 2), :report, 'living_alone', 'normal', :stage, false, '', '', now(), now(), 0, 1, "
               "now() FROM (SELECT CAST(:village AS text) AS v) AS x RETURNING id")
ACTION_INSERT = ("INSERT INTO case_actions (case_id, region_code, kind, stage, data, note, by_user_id, "
                 "by_unit_code, at) VALUES (:case, :village, :kind, 'reported', '{}', '', :user, :unit, now())")


def _refused(partner_sql, partner, sql: str, /, **params) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        partner_sql(partner, sql, **params)


def test_under_rls_alone_a_partner_files_in_its_subtree_as_itself_and_nothing_more(partner_sql, partners,
                                                                                    assessed_case):
    (partner, _, _), (other, _, other_case) = partners["a"], partners["b"]
    me = {"user": partner.id, "unit": TOWNSHIP, "village": VILLAGE}

    def file(stage: str = "reported") -> tuple[int, int]:
        report = partner_sql(partner, REPORT_INSERT, **me)[0][0]
        case = partner_sql(partner, CASE_INSERT, village=VILLAGE, report=report, stage=stage)[0][0]
        assert partner_sql(partner, ACTION_INSERT, case=case, kind="filed", **me) == 1
        assert partner_sql(partner, "INSERT INTO sync_outbox (region_code, kind, created_at) "
                                    "VALUES (:v, 'cases', now())", v=VILLAGE) == 1
        return report, case

    report, case = file()
    assert partner_sql(partner, "SELECT stage FROM cases WHERE id = :id", id=case) == [("reported",)]

    _refused(partner_sql, partner, REPORT_INSERT, **{**me, "village": OTHER_COUNTY_VILLAGE})
    _refused(partner_sql, partner, REPORT_INSERT, **{**me, "user": other.id})
    _refused(partner_sql, partner, REPORT_INSERT, **{**me, "unit": COUNTY})
    _refused(partner_sql, partner, CASE_INSERT, village=VILLAGE, report=report, stage="accepted")
    other_report = partner_sql(other, "SELECT report_id FROM cases WHERE id = :id", id=other_case)[0][0]
    _refused(partner_sql, partner, CASE_INSERT, village=VILLAGE, report=other_report, stage="reported")
    _refused(partner_sql, partner, ACTION_INSERT, case=case, kind="note", **me)
    _refused(partner_sql, partner, ACTION_INSERT, case=other_case, kind="filed", **me)
    _refused(partner_sql, partner, "INSERT INTO sync_outbox (region_code, kind, created_at) "
                                   "VALUES (:v, 'cases', now())", v=OTHER_COUNTY_VILLAGE)
    _refused(partner_sql, partner, "INSERT INTO sync_outbox (region_code, kind, created_at) "
                                   "VALUES (:v, 'children', now())", v=VILLAGE)
    _refused(partner_sql, partner, "INSERT INTO children (region_code) VALUES (:v)", v=VILLAGE)
    # Its own case is read, never changed; nothing else is changed either.
    assert partner_sql(partner, "UPDATE cases SET stage = 'closed' WHERE id = :id RETURNING id", id=case) == []
    assert partner_sql(partner, "UPDATE users SET role = 'admin' WHERE id <> :me RETURNING id", me=partner.id) == []
    _refused(partner_sql, partner, "UPDATE users SET role = 'admin' WHERE id = :me", me=partner.id)
    assert partner_sql(partner, "UPDATE users SET phone = '13911112222' WHERE id = :me", me=partner.id) == 1
    assert partner_sql(partner, "UPDATE api_tokens SET revoked = true WHERE user_id <> :me RETURNING id",
                       me=partner.id) == []
    _refused(partner_sql, partner, "UPDATE users SET region_code = :c WHERE id = :me", c=OTHER_COUNTY,
             me=partner.id)


def test_partner_settings_never_widen_a_unit_scope(db_connection, partners, assessed_case):
    partner, _, case_id = partners["a"]

    def run(scope: str, sql: str):
        with db_connection.begin_nested():
            db_connection.execute(text("SELECT set_config('role', 'shouhu_app', true), "
                                       "set_config('app.scope', :s, true), "
                                       "set_config('app.partner_unit', :u, true), "
                                       "set_config('app.partner_user', :p, true)"),
                                  {"s": scope, "u": TOWNSHIP, "p": str(partner.id)})
            return db_connection.execute(text(sql)).all()

    # A unit scope (a sibling county) or the all-tenants value on the application role gives no partner rows.
    assert run(OTHER_COUNTY, "SELECT count(*) FROM cases")[0][0] == 0
    assert run(OTHER_COUNTY, "SELECT count(*) FROM users WHERE region_code LIKE '440203%'")[0][0] == 0
    assert run("*", "SELECT id FROM cases") == [(case_id,)]  # no more than the partner's own
    assert run("*", "SELECT count(*) FROM children")[0][0] == 0


def test_requests_carry_the_partner_scope_token_and_session(app, partners, person):
    partner, headers, _ = partners["a"]
    staff, staff_headers = person(TOWNSHIP)
    with app.app_context():
        session = db.session
        found = load_token_user(session, headers["Authorization"][7:])
        assert found.id == partner.id and found.scope == Scope.partner(TOWNSHIP, partner.id)
        settings = session.connection().execute(text(
            "SELECT current_setting('app.scope', true), current_setting('app.partner_unit', true), "
            "current_setting('app.partner_user', true)")).one()
        assert tuple(settings) == ("", TOWNSHIP, str(partner.id))
        load_token_user(session, staff_headers["Authorization"][7:])
        settings = session.connection().execute(text(
            "SELECT current_setting('app.scope', true), current_setting('app.partner_user', true)")).one()
        assert tuple(settings) == (TOWNSHIP, "")
        session.rollback()

        user = load_session_user(session, f"{partner.id}:{partner.auth_epoch}")
        assert user.id == partner.id and user.scope == Scope.partner(TOWNSHIP, partner.id)
        assert load_session_user(session, f"{staff.id}:{staff.auth_epoch}").scope == Scope.unit(TOWNSHIP)
        session.rollback()


def test_the_application_lock_confines_a_partner_too(app, partners, assessed_case, new_child):
    partner, _, case_id = partners["a"]
    new_child(seq="031")
    with app.app_context():
        session = db.new_session()
        try:
            with scoped(Scope.partner(TOWNSHIP, partner.id)):
                assert session.scalars(select(Child)).all() == []
                assert [u.id for u in session.scalars(select(User))] == [partner.id]
                assert [c.id for c in session.scalars(select(Case))] == [case_id]
                assert [r.reporter_user_id for r in session.scalars(select(Report))] == [partner.id]
                assert [(a.case_id, a.kind) for a in session.scalars(select(CaseAction))] == [(case_id, "filed")]
                case = session.get(Case, case_id)
                case.stage = "closed"
                with pytest.raises(ScopeViolation):
                    session.flush()
                session.rollback()
                session.add(Child(region_code=VILLAGE))
                with pytest.raises(ScopeViolation):
                    session.flush()
                session.rollback()
        finally:
            session.close()


def test_a_partner_still_signs_in_changes_its_password_and_follows_its_reports(app, make_user, login, token_for,
                                                                               client):
    partner = make_user(TOWNSHIP, "reporter", org_kind="clinic", org_name="新华卫生院")
    first, second = token_for(partner.username), token_for(partner.username)
    assert client.get("/api/v1/me", headers=first).get_json()["username"] == partner.username
    filed = client.post("/api/v1/reports", json=report_body(), headers=first)
    assert filed.status_code == 201, filed.get_json()
    changed = client.post("/api/v1/me/password", json={"current_password": PASSWORD,
                                                       "new_password": "Clinic-2026-new"}, headers=first)
    assert changed.status_code == 200, changed.get_json()
    assert client.get("/api/v1/me", headers=second).status_code == 401  # its other tokens are revoked
    mine = client.get("/api/v1/reports", headers=first).get_json()
    assert mine["total"] == 1 and mine["items"][0]["stage"] == "reported"

    page = app.test_client()
    login(page, partner.username, "Clinic-2026-new")
    listed = page.get("/reports")
    assert listed.status_code == 200 and listed.get_data(as_text=True).count('class="report-row') == 1
    assert page.get("/children").status_code == 403


sqlite_db = test_isolation.sqlite_db


def test_the_application_lock_alone_confines_a_partner(sqlite_db):
    from datetime import UTC, datetime

    from hierarchy.models import Unit
    from tenant_app.auth.models import ApiToken

    me = test_isolation._id_of(sqlite_db, "sq_440203001")
    other = test_isolation._id_of(sqlite_db, "sq_440203")
    village = "440203001002"

    def report(**overrides) -> Report:
        fields = {"region_code": village, "occurred_village_code": village, "category": "living_alone",
                  "urgency": "normal", "occurred_at": datetime(2026, 11, 30, tzinfo=UTC), "narrative": "独自在家",
                  "reporter_kind": "school", "reporter_user_id": me, "reporter_unit_code": "440203001"}
        return Report(**{**fields, **overrides})

    with scoped(Scope.partner("440203001", me)):
        session = sqlite_db.new_session()
        try:
            assert [u.id for u in session.scalars(select(User))] == [me]
            assert {u.code for u in session.scalars(select(Unit))} == {"44", "4402", "440203", "440203001", village}
            assert {t.user_id for t in session.scalars(select(ApiToken))} == {me}
            assert session.execute(text("SELECT count(*) FROM users")).scalar() == 11  # the database shows all
            own = report()
            session.add(own)
            session.flush()
            session.add(Case(region_code=village, township_code=village[:9], county_code=village[:6],
                             province_code=village[:2], report_id=own.id, category="living_alone", urgency="normal",
                             stage="reported", reported_at=own.occurred_at, cycle_started_at=own.occurred_at))
            session.flush()
            assert [c.report_id for c in session.scalars(select(Case))] == [own.id]
            for refused in (report(reporter_user_id=other), report(region_code="440204001001"),
                            report(reporter_unit_code="440203")):
                session.add(refused)
                with pytest.raises(ScopeViolation):
                    session.flush()
                session.expunge(refused)
            session.scalars(select(User)).one().role = "admin"  # its own row, but not to change its role
            with pytest.raises(ScopeViolation):
                session.flush()
            session.rollback()
            session.add(User(region_code=village, username="sq_new", role="staff", password_hash="x",
                             real_name="新用户", phone="1"))
            with pytest.raises(ScopeViolation):
                session.flush()
        finally:
            session.close()
