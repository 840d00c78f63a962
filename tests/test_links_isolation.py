"""Partner departments confined in both locks: an education bureau of one county sees nothing of another's,
nothing beyond its own rolls and their match results (no child record, case, user or other page: 403), under
row-level security alone too; a bad upload is refused by field with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hierarchy.scope import Scope, ScopeViolation, apply_db_scope, scoped
from tenant_app.links.models import RollMatch, RollRow, RollUpload
from tests import cases_factories, links_factories, test_isolation, test_partner_scope
from tests.cases_factories import OTHER_COUNTY, VILLAGE
from tests.links_factories import csv_file
from tests.test_children_api import child_payload, make_id

person = cases_factories.person
department = links_factories.department
upload = links_factories.upload
confirmed = links_factories.confirmed
partner_sql = test_partner_scope.partner_sql
COUNTY = "440203"
ROLL_TABLES = ("roll_uploads", "roll_rows", "roll_match_runs", "roll_matches", "child_name_keys")
ROW = f"G{make_id()},李小明,男,2016-03-01,,第一小学,四年级,在校"


@pytest.fixture
def linked(client, person, department, confirmed):
    """A record of VILLAGE and the county's education bureau's roll linked to it; the other county's bureau."""
    response = client.post("/api/v1/children", json=child_payload(name="李小明"), headers=person(VILLAGE)[1])
    assert response.status_code == 201
    mine, headers = department(COUNTY)
    body = confirmed(headers, "school", csv_file("school", [ROW, "J9,孙悟空,男,2016-01-01,,一小,四年级,在校"]))
    return {"mine": (mine, headers, body), "other": department(OTHER_COUNTY),
            "police": department(COUNTY, "public_security"), "reporter": person(COUNTY, "reporter")[0]}


def test_a_department_sees_its_own_rolls_and_results_and_nothing_else(client, linked, person):
    _, headers, body = linked["mine"]
    results = client.get(f"/api/v1/rolls/uploads/{body['id']}/results", headers=headers).get_json()
    assert [r["status"] for r in results["items"]] == ["linked", "unmatched"]
    for path in ("/api/v1/children", "/api/v1/cases", "/api/v1/users", "/api/v1/rolls/matches", "/api/v1/tasks",
                 f"/api/v1/units/{COUNTY}", "/api/v1/roster", "/api/v1/notifications"):
        assert client.get(path, headers=headers).status_code == 403, path
    assert client.post("/api/v1/reports", json=cases_factories.report_body(), headers=headers).status_code == 403

    for key in ("other", "police"):  # another county's bureau; another department of the same county
        _, theirs = linked[key]
        listed = client.get("/api/v1/rolls/uploads", headers=theirs).get_json()
        assert listed["total"] == 0, key
        for path in (f"/api/v1/rolls/uploads/{body['id']}", f"/api/v1/rolls/uploads/{body['id']}/results",
                     f"/api/v1/rolls/runs/{body['run']['id']}"):
            assert client.get(path, headers=theirs).status_code == 404, (key, path)
        response = client.post(f"/api/v1/rolls/uploads/{body['id']}/confirm", headers=theirs, json={"version": 0})
        assert response.status_code == 404, key
    # The police may not upload a school roll.
    response = links_factories_upload(client, linked["police"][1], "school")
    assert response.status_code == 422 and "roll_kind" in response.get_json()["errors"]
    # The other county's staff see nothing of it either; this county's do.
    assert client.get("/api/v1/rolls/uploads", headers=person(OTHER_COUNTY)[1]).get_json()["total"] == 0
    assert client.get("/api/v1/rolls/uploads", headers=person(COUNTY)[1]).get_json()["total"] == 1


def links_factories_upload(client, headers, kind):
    import io

    return client.post("/api/v1/rolls/uploads", headers=headers, content_type="multipart/form-data",
                       data={"roll_kind": kind, "file": (io.BytesIO(csv_file("school", [ROW])), "r.csv")})


def test_under_rls_alone_a_department_reads_its_own_rows_only(db_connection, linked, partner_sql, scoped_sql):
    mine, _, body = linked["mine"]
    other, police = linked["other"][0], linked["police"][0]
    for table in ROLL_TABLES:
        assert scoped_sql(COUNTY, f"SELECT count(*) FROM {table}")[0][0] > 0, table
    assert partner_sql(mine, "SELECT count(*) FROM roll_rows")[0][0] == 2
    assert partner_sql(mine, "SELECT count(*) FROM roll_matches")[0][0] == 1
    assert partner_sql(mine, "SELECT id FROM roll_uploads") == [(body["id"],)]
    for who in (other, police):
        for table in ROLL_TABLES:
            assert partner_sql(who, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    tables = [r[0] for r in db_connection.execute(text(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity "
        "AND relnamespace = current_schema()::regnamespace"))]
    for table in tables:
        if table not in {"users", "api_tokens", "units", "roll_uploads", "roll_rows", "roll_match_runs",
                         "roll_matches"}:
            assert partner_sql(mine, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    # It files no report, writes no match, and uploads as no other department.
    with pytest.raises(DBAPIError, match="row-level security"):
        partner_sql(mine, test_partner_scope.REPORT_INSERT, village=VILLAGE, user=mine.id, unit=COUNTY)
    with pytest.raises(DBAPIError, match="row-level security|permission"):
        partner_sql(mine, "INSERT INTO roll_uploads (region_code, dept_unit, dept_kind, roll_kind, status, "
                          "base_version, is_current, filename, total_rows, error_count, errors, user_id, "
                          "created_at) VALUES (:u, :u, 'public_security', 'household', 'checked', 0, false, '', 0, 0, "
                          "'[]', :me, now())", u=COUNTY, me=mine.id)
    # Its own row keeps its role and kind: no department becomes a reporter, nor a reporter a department.
    with pytest.raises(DBAPIError, match="keeps its role"):
        partner_sql(mine, "UPDATE users SET role = 'reporter', org_kind = 'school' WHERE id = :me", me=mine.id)
    with pytest.raises(DBAPIError, match="keeps its role"):
        partner_sql(mine, "UPDATE users SET org_kind = 'public_security' WHERE id = :me", me=mine.id)
    assert partner_sql(mine, "UPDATE users SET last_login_at = now() WHERE id = :me", me=mine.id) == 1
    reporter = linked["reporter"]
    with pytest.raises(DBAPIError, match="keeps its role"):
        partner_sql(reporter, "UPDATE users SET role = 'department', org_kind = 'education' WHERE id = :me",
                    me=reporter.id)
    # A unit's scope never gains the department's rows from its settings.
    with db_connection.begin_nested():
        apply_db_scope(db_connection, Scope.unit(OTHER_COUNTY))
        db_connection.exec_driver_sql("SELECT set_config('app.partner_unit', %s, true), "
                                      "set_config('app.partner_user', %s, true)", (COUNTY, str(mine.id)))
        assert db_connection.execute(text("SELECT count(*) FROM roll_rows")).scalar() == 0


def test_a_bad_upload_is_refused_by_field_and_writes_no_row(client, department, upload, scoped_sql):
    _, headers = department(COUNTY)
    bad = csv_file("school", [
        f"G{make_id()},李小明,女,2016-03-01,,第一小学,四年级,在校",  # sex against the ID number
        "J1,,男,2016-03-01,,一小,四年级,在校",  # no name
        "J2,王五,男,2016-13-01,,一小,四年级,毕业",  # no such date, no such status
        "G440203201603010139,赵六,男,,,一小,四年级,在校",  # "G" with a bad check character: no ID, no birth date
        ROW, ROW,  # the same ID number twice
    ])
    response = upload(headers, "school", bad)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "invalid"
    found = {(e["row"], e["field"]) for e in body["errors"]}
    assert found == {(2, "sex"), (3, "name"), (4, "birth_date"), (4, "status"), (5, "birth_date"), (7, "id_number")}
    assert all(e["column"] for e in body["errors"])
    sheet = client.get(f"/api/v1/rolls/uploads/{body['id']}/errors.xlsx", headers=headers)
    assert sheet.status_code == 200 and sheet.data[:2] == b"PK"
    refused = client.post(f"/api/v1/rolls/uploads/{body['id']}/confirm", headers=headers, json={"version": 0})
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    assert scoped_sql(COUNTY, "SELECT count(*) FROM roll_rows")[0][0] == 0
    assert scoped_sql(COUNTY, "SELECT count(*) FROM roll_match_runs")[0][0] == 0
    # Not a roll at all, or missing columns: a field error on the file.
    for content in (b"\x00\x01garbage", "姓名,性别\n李,男\n".encode()):
        response = upload(headers, "school", content)
        assert response.status_code == 422 and "file" in response.get_json()["errors"], response.get_json()
    response = client.post("/api/v1/rolls/uploads", headers=headers, content_type="multipart/form-data",
                           data={"roll_kind": "tax"})
    assert response.status_code == 422 and "roll_kind" in response.get_json()["errors"]


sqlite_db = test_isolation.sqlite_db


def test_the_application_lock_alone_confines_a_department(sqlite_db):
    """SQLite (no RLS): the loader criteria show a department its own department's rows only, and its writes
    stay at its own unit."""
    from tenant_app.auth.models import User

    with scoped(Scope(all_tenants=True)):
        session = sqlite_db.new_session()
        users = {}
        for code, kind in (("440203", "education"), ("440204", "education"), ("440203", "public_security")):
            user = User(region_code=code, username=f"dept_{code}_{kind}", role="department", password_hash="x",
                        real_name="部门", phone="1", org_kind=kind, org_name="部门")
            session.add(user)
            session.flush()
            users[(code, kind)] = user.id
            up = RollUpload(region_code=code, dept_unit=code, dept_kind=kind, roll_kind="school", status="confirmed",
                            version=1, is_current=True, filename="x.csv", user_id=user.id)
            session.add(up)
            session.flush()
            session.add(RollRow(region_code=code, dept_unit=code, dept_kind=kind, upload_id=up.id, line=2,
                                student_no="J1", name="李", name_pinyin="li", area_code=code, details={}))
        session.commit()
        session.close()
    for (code, kind), user_id in users.items():
        with scoped(Scope.partner(code, user_id)):
            session = sqlite_db.new_session()
            try:
                ups = session.scalars(select(RollUpload)).all()
                assert [(u.dept_unit, u.dept_kind) for u in ups] == [(code, kind)]
                assert {r.dept_kind for r in session.scalars(select(RollRow))} == {kind}
                assert session.scalars(select(RollMatch)).all() == []
                session.add(RollUpload(region_code="440204" if code == "440203" else "440203",
                                       dept_unit=code, dept_kind=kind, roll_kind="school", user_id=user_id))
                with pytest.raises(ScopeViolation):
                    session.flush()
            finally:
                session.close()
    # A partner reporter of the same county sees none of it.
    with scoped(Scope.partner("440203", users[("440203", "education")] + 100)):
        session = sqlite_db.new_session()
        try:
            assert session.scalars(select(RollUpload)).all() == []
        finally:
            session.close()


def test_a_dry_run_stages_its_rows_apart_and_a_day_later_the_next_upload_purges_it(client, department, upload,
                                                                                  scoped_sql):
    from datetime import timedelta

    from tenant_app import clock

    _, headers = department(COUNTY)
    first = upload(headers, "school", csv_file("school", [ROW])).get_json()
    assert first["status"] == "checked"
    staged = "SELECT count(*) FROM roll_staged_rows WHERE upload_id = :u"
    assert scoped_sql(COUNTY, staged, u=first["id"])[0][0] == 1
    assert scoped_sql(OTHER_COUNTY, staged, u=first["id"])[0][0] == 0  # RLS: another county sees none
    assert scoped_sql(COUNTY, "SELECT count(*) FROM roll_rows")[0][0] == 0  # nothing written to the roll
    with clock.frozen(clock.now() + timedelta(days=1, minutes=1)):
        second = upload(headers, "school", csv_file("school", [ROW])).get_json()
        third = upload(headers, "school", csv_file("school", [ROW])).get_json()
    assert client.get(f"/api/v1/rolls/uploads/{first['id']}", headers=headers).status_code == 404
    assert scoped_sql(COUNTY, staged, u=first["id"])[0][0] == 0
    # Staged rows lost (the unlogged table emptied by a crash): the confirmation asks for the upload again.
    scoped_sql(COUNTY, "DELETE FROM roll_staged_rows WHERE upload_id = :u RETURNING line", u=third["id"])
    lost = client.post(f"/api/v1/rolls/uploads/{third['id']}/confirm", headers=headers, json={"version": 0})
    assert lost.status_code == 409 and "file" in lost.get_json()["errors"]
    response = client.post(f"/api/v1/rolls/uploads/{second['id']}/confirm", headers=headers, json={"version": 0})
    assert response.status_code == 200, response.get_json()
    assert scoped_sql(COUNTY, staged, u=second["id"])[0][0] == 0  # moved into the roll
    assert scoped_sql(COUNTY, "SELECT count(*) FROM roll_rows WHERE upload_id = :u", u=second["id"])[0][0] == 1
    # A confirmed version is never purged, by the next upload or by the database.
    with clock.frozen(clock.now() + timedelta(days=3)):
        upload(headers, "school", csv_file("school", [ROW]))
    assert client.get(f"/api/v1/rolls/uploads/{second['id']}", headers=headers).get_json()["status"] == "confirmed"
    assert scoped_sql(COUNTY, "DELETE FROM roll_uploads WHERE id = :u RETURNING id", u=second["id"]) == []
