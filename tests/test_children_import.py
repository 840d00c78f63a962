"""Excel import (dry run, errors sheet, confirm in one transaction) and export (masked IDs, audited full)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from tenant_app.children import excel, idcard

VILLAGE = "440203001002"
SIBLING_VILLAGE = "440203001003"
TOWNSHIP = "440203001"
COUNTY = "440203"


def make_id(birth: str = "20160301", seq: str = "013", area: str = "440203") -> str:
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


def row(**overrides) -> dict:
    data = {"村(居)代码": VILLAGE, "姓名": "李小明", "性别": "男", "出生日期": "2016-03-01",
            "身份证号": make_id(), "父亲状况": "外出务工", "母亲状况": "外出务工", "受托监护人姓名": "李爷爷",
            "就学状况": "小学", "留守儿童": "是", "家庭收入来源": "务工、务农"}
    data.update(overrides)
    return data


def workbook(rows: list[dict]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(excel.HEADERS)
    for r in rows:
        ws.append([r.get(h) for h in excel.HEADERS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def sheet_rows(data: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data))
    return list(wb.worksheets[0].iter_rows(values_only=True))


GOOD = [row(), row(姓名="王小红", 性别="女", 身份证号=make_id("20150705", "024"), 出生日期="2015-07-05")]
BAD = [
    row(姓名="错号", 身份证号="440203201603010131"),                                          # sheet row 4
    row(姓名=None, 身份证号=make_id("20140101", "033"), 出生日期="2014-01-01"),                # 5
    row(姓名="邻村", **{"村(居)代码": SIBLING_VILLAGE},
        身份证号=make_id("20130202", "053"), 出生日期="2013-02-02"),                           # 6
    row(姓名="重复"),                                                                          # 7
]


def upload(client, headers, rows, name="children.xlsx"):
    return client.post("/api/v1/children/imports", headers=headers,
                       data={"file": (io.BytesIO(workbook(rows)), name)}, content_type="multipart/form-data")


def count_children(scoped_sql, unit=COUNTY) -> int:
    return scoped_sql(unit, "SELECT count(*) FROM children")[0][0]


@pytest.fixture
def director(make_user, token_for):
    user = make_user(VILLAGE, "staff")
    return user, token_for(user.username)


def test_template_has_chinese_headers(client, director):
    response = client.get("/api/v1/children/import/template", headers=director[1])
    assert response.status_code == 200
    assert response.mimetype == excel.XLSX_MIMETYPE
    headers = sheet_rows(response.data)[0]
    assert headers[:6] == ("村(居)代码", "姓名", "性别", "民族", "出生日期", "身份证号")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in headers)


def test_dry_run_reports_errors_by_row_and_column_and_writes_nothing(client, director, scoped_sql):
    before = count_children(scoped_sql)
    response = upload(client, director[1], GOOD + BAD)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["total_rows"] == 6
    status = client.get(f"/api/v1/children/imports/{body['id']}", headers=director[1]).get_json()
    assert status["status"] == "validated"
    assert status["rows_done"] == status["total_rows"] == 6
    assert status["valid_count"] == 2
    cells = {(e["row"], e["column"]) for e in status["errors"]}
    assert (4, "身份证号") in cells
    assert (5, "姓名") in cells
    assert (6, "村(居)代码") in cells
    assert (7, "身份证号") in cells
    assert all(e["row"] >= 4 for e in status["errors"])
    duplicate = [e for e in status["errors"] if e["row"] == 7]
    assert "第2行" in duplicate[0]["message"]
    assert count_children(scoped_sql) == before

    sheet = client.get(f"/api/v1/children/imports/{body['id']}/errors.xlsx", headers=director[1])
    assert sheet.status_code == 200
    rows = sheet_rows(sheet.data)
    assert rows[0][:2] == ("行号", "列")
    assert {(r[0], r[1]) for r in rows[1:]} == cells


def test_confirm_applies_exactly_the_valid_rows(client, director, scoped_sql):
    before = count_children(scoped_sql)
    body = upload(client, director[1], GOOD + BAD).get_json()
    response = client.post(f"/api/v1/children/imports/{body['id']}/confirm", headers=director[1])
    assert response.status_code == 202, response.get_json()
    result = response.get_json()
    assert result["status"] == "applied" and result["applied_count"] == 2
    assert count_children(scoped_sql) == before + 2
    names = {r[0] for r in scoped_sql(VILLAGE, "SELECT name FROM children WHERE created_by_id = :u",
                                      u=director[0].id)}
    assert names == {"李小明", "王小红"}
    history = scoped_sql(VILLAGE, "SELECT count(*) FROM child_changes c JOIN children k ON k.id = c.child_id "
                                  "WHERE k.created_by_id = :u AND c.action = 'create'", u=director[0].id)
    assert history[0][0] == 2
    listed = client.get("/api/v1/children?q=王小红", headers=director[1]).get_json()["items"][0]
    full = client.get(f"/api/v1/children/{listed['id']}", headers=director[1]).get_json()
    assert full["mother_situation"] == "away" and full["income_sources"] == ["migrant_work", "farming"]
    assert full["version"] == 1
    again = client.post(f"/api/v1/children/imports/{body['id']}/confirm", headers=director[1])
    assert again.status_code == 409


def test_confirm_that_fails_writes_nothing(client, director, scoped_sql):
    body = upload(client, director[1], GOOD).get_json()
    assert body["status"] == "validated" and body["valid_count"] == 2
    # Someone registers the second child after the dry run.
    created = client.post("/api/v1/children", headers=director[1], json={
        "name": "王小红", "sex": "female", "birth_date": "2015-07-05", "id_number": make_id("20150705", "024")})
    assert created.status_code == 201, created.get_json()
    before = count_children(scoped_sql)
    result = client.post(f"/api/v1/children/imports/{body['id']}/confirm", headers=director[1]).get_json()
    assert result["status"] == "failed"
    assert result["message"]
    assert count_children(scoped_sql) == before


def test_insert_race_on_the_unique_constraint_writes_nothing(app, director, scoped_sql, monkeypatch):
    from hierarchy.scope import Scope, scoped
    from tenant_app.children import imports
    from tenant_app.db import db

    with scoped(Scope.unit(VILLAGE)), app.test_request_context():
        session = db.new_session()
        imp = imports.start_dry_run(session, director[0], "x.xlsx", workbook(GOOD))
        session.commit()
        imp_id = imp.id
        session.close()
    imports.enqueue_validate(imp_id, VILLAGE, None)
    with scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        imports.request_confirm(session, director[0], imp_id)
        session.commit()
        session.close()
    real = imports.check_rows

    def blind(session, actor, rows, progress=None, ref=None, **kwargs):  # the check misses the duplicate (a race)
        valid, errors = real(session, actor, rows, progress, ref, **kwargs)
        return valid + [valid[0]], errors

    monkeypatch.setattr(imports, "check_rows", blind)
    before = count_children(scoped_sql)
    with scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        session.execute(imports.update(imports.ChildImport).where(imports.ChildImport.id == imp_id)
                        .values(valid_count=3))
        session.commit()
        session.close()
    assert imports.enqueue_apply(imp_id, VILLAGE, None) == {"applied": 0}
    assert count_children(scoped_sql) == before
    with scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        assert session.get(imports.ChildImport, imp_id).status == "failed"
        session.close()


def test_township_staff_cannot_import(client, make_user, token_for):
    user = make_user(TOWNSHIP, "staff")
    response = upload(client, token_for(user.username), GOOD)
    assert response.status_code == 403


def test_bad_file_is_refused(client, director):
    response = client.post("/api/v1/children/imports", headers=director[1],
                           data={"file": (io.BytesIO(b"not excel"), "x.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 422


def _import_good(client, director):
    body = upload(client, director[1], GOOD).get_json()
    result = client.post(f"/api/v1/children/imports/{body['id']}/confirm", headers=director[1]).get_json()
    assert result["status"] == "applied"


def _export_ids(data: bytes) -> dict:
    rows = sheet_rows(data)
    header = rows[0]
    name_col, id_col = header.index("姓名"), header.index("身份证号")
    return {r[name_col]: r[id_col] for r in rows[1:]}


def test_export_masks_ids_by_default(client, director, make_user, token_for, scoped_sql):
    _import_good(client, director)
    response = client.get("/api/v1/children/export.xlsx?q=李小明", headers=director[1])
    assert response.status_code == 200
    ids = _export_ids(response.data)
    number = make_id()
    assert ids["李小明"] == number[:6] + "*" * 8 + number[-4:]
    viewer = make_user(COUNTY, "viewer")
    asked = client.get("/api/v1/children/export.xlsx?q=李小明&full_ids=1", headers=token_for(viewer.username))
    assert _export_ids(asked.data)["李小明"] == number[:6] + "*" * 8 + number[-4:]
    assert scoped_sql(COUNTY, "SELECT count(*) FROM audit_events WHERE user_id = :u", u=viewer.id)[0][0] == 0


def test_full_ids_export_for_staff_is_audited(client, director, make_user, token_for, scoped_sql):
    _import_good(client, director)
    county = make_user(COUNTY, "staff")
    response = client.get(f"/api/v1/children/export.xlsx?unit={VILLAGE}&full_ids=1",
                          headers=token_for(county.username))
    assert response.status_code == 200
    ids = _export_ids(response.data)
    assert ids["李小明"] == make_id()
    audits = scoped_sql(COUNTY, "SELECT purpose, action FROM audit_events WHERE user_id = :u", u=county.id)
    assert len(audits) == len(ids) >= 2
    assert {a[0] for a in audits} == {"导出"}


def test_import_pages(client, make_user, login):
    user = make_user(VILLAGE, "staff")
    login(client, user.username)
    page = client.get("/children/import")
    assert page.status_code == 200 and "下载导入模板" in page.get_data(as_text=True)
    response = client.post("/children/import", data={"file": (io.BytesIO(workbook(GOOD + BAD)), "a.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 303)
    progress = client.get(response.headers["Location"])
    text = progress.get_data(as_text=True)
    assert "确认导入" in text and "下载错误清单" in text
    status = client.get(response.headers["Location"] + "/status").get_json()
    assert status["rows_done"] == status["total_rows"] == 6
    confirmed = client.post(response.headers["Location"] + "/confirm")
    assert confirmed.status_code in (302, 303)
    assert "已导入" in client.get(response.headers["Location"]).get_data(as_text=True)
    export = client.get("/children/export.xlsx")
    assert export.status_code == 200 and export.mimetype == excel.XLSX_MIMETYPE


def test_rq_worker_runs_dry_run_and_apply(_app, redis_url):
    """The job path through a real RQ worker, on committed data that the test removes afterwards."""
    import uuid

    from rq import Queue, SimpleWorker
    from sqlalchemy import text

    from hierarchy.scope import Scope, scoped
    from sync import queues
    from sync.jobs import redis_connection
    from tenant_app.auth.models import User
    from tenant_app.auth.passwords import hash_password
    from tenant_app.children import imports
    from tenant_app.db import db

    connection = redis_connection(redis_url)
    worker = SimpleWorker([Queue(queues.IMPORTS, connection=connection)], connection=connection)
    rows = [row(身份证号=make_id("20120912", "917"), 出生日期="2012-09-12"),
            row(姓名="王小红", 性别="女", 身份证号=make_id("20110404", "928"), 出生日期="2011-04-04"),
            row(姓名=None, 身份证号=make_id("20100101", "939"), 出生日期="2010-01-01")]
    with scoped(Scope(all_tenants=True)), db.session_scope() as session:
        user = User(region_code=VILLAGE, username=f"rq_import_{uuid.uuid4().hex[:8]}", role="staff",
                    password_hash=hash_password("Passw0rd!"), real_name="导入", phone="13800000000")
        session.add(user)
        session.flush()
        user_id = user.id
    imp_id = None
    try:
        with scoped(Scope.unit(VILLAGE)):
            with db.session_scope() as session:
                actor = session.get(User, user_id)
                imp_id = imports.start_dry_run(session, actor, "rq.xlsx", workbook(rows)).id
            imports.enqueue_validate(imp_id, VILLAGE, redis_url)
            worker.work(burst=True)
            with db.session_scope() as session:
                imp = session.get(imports.ChildImport, imp_id)
                assert (imp.status, imp.rows_done, imp.valid_count) == ("validated", 3, 2)
                assert {e["row"] for e in imp.errors} == {4}, imp.errors
                imports.request_confirm(session, session.get(User, user_id), imp_id)
            imports.enqueue_apply(imp_id, VILLAGE, redis_url)
            worker.work(burst=True)
            with db.session_scope() as session:
                imp = session.get(imports.ChildImport, imp_id)
                assert (imp.status, imp.applied_count) == ("applied", 2)
                assert session.scalar(text("SELECT count(*) FROM children WHERE created_by_id = :u"),
                                      {"u": user_id}) == 2
    finally:
        owner = db.owner_engine()
        with owner.begin() as conn:
            conn.execute(text("DELETE FROM child_changes WHERE child_id IN "
                              "(SELECT id FROM children WHERE created_by_id = :u)"), {"u": user_id})
            conn.execute(text("DELETE FROM children WHERE created_by_id = :u"), {"u": user_id})
            conn.execute(text("DELETE FROM child_imports WHERE user_id = :u"), {"u": user_id})
            conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user_id})
        owner.dispose()


def test_progress_is_committed_while_the_dry_run_runs(client, director, monkeypatch):
    from tenant_app.children import imports

    seen = []
    real = imports._set

    def spy(import_id, **values):
        real(import_id, **values)
        if "rows_done" in values:
            seen.append(values["rows_done"])

    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(imports, "_set", spy)
    body = upload(client, director[1], GOOD + BAD).get_json()
    assert body["status"] == "validated"
    assert seen[:4] == [0, 2, 4, 6]


def test_list_page_offers_export_of_the_filtered_list(client, make_user, login):
    user = make_user(VILLAGE, "staff")
    login(client, user.username)
    html = client.get("/children?risk_level=high").get_data(as_text=True)
    assert 'id="export-children"' in html
    assert "/children/export.xlsx?risk_level=high" in html
    assert 'id="import-children"' in html
    assert client.get("/children/export.xlsx?risk_level=high").status_code == 200
