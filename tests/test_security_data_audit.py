"""No response carries a full ID number without an audit row (every GET route and page is walked, plus the
writes that answer with a record); no database error puts a child's data in the log."""

from __future__ import annotations

import io
import logging
import re

import pytest
from openpyxl import load_workbook

from tenant_app.children import excel, idcard

VILLAGE = "440203001002"
SIBLING_VILLAGE = "440203001003"
PROVINCE = "44"


def make_id(birth: str, seq: str, area: str = "440203") -> str:
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


CHILD = make_id("20160301", "013")
FATHER = make_id("19850101", "017")
MOTHER = make_id("19870202", "028")
GUARDIAN = make_id("19580303", "039")
NUMBERS = (CHILD, FATHER, MOTHER, GUARDIAN)


def record(**extra) -> dict:
    data = {"name": "李小明", "sex": "male", "birth_date": "2016-03-01", "id_number": CHILD,
            "father_name": "李大", "father_birth_date": "1985-01-01", "father_id_number": FATHER,
            "father_situation": "away", "mother_name": "王芳", "mother_birth_date": "1987-02-02",
            "mother_id_number": MOTHER, "mother_situation": "away", "guardian_name": "李爷爷",
            "guardian_id_number": GUARDIAN, "guardian_relationship": "祖父", "guardian_phone": "13800001111"}
    data.update(extra)
    return data


def response_text(response) -> str:
    if response.mimetype == excel.XLSX_MIMETYPE:
        wb = load_workbook(io.BytesIO(response.data), read_only=True)
        return " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                        for v in row if v is not None)
    return response.data.decode("utf-8", "replace")


def shows_full_number(response) -> bool:
    text = response_text(response)
    return any(n in text for n in NUMBERS)


def test_every_response_with_a_full_id_number_is_audited(app, client, make_user, token_for, login, scoped_sql):
    director = make_user(VILLAGE, "staff")
    headers = token_for(director.username)
    login(client, director.username)

    def audits() -> int:
        return scoped_sql(PROVINCE, "SELECT count(*) FROM audit_events WHERE user_id = :u", u=director.id)[0][0]

    def check(label, send):
        before = audits()
        response = send()
        assert response.status_code < 500, (label, response.status_code)
        full = shows_full_number(response)
        if full:
            assert audits() > before, f"{label} shows a full ID number and wrote no audit row"
        return response, full

    created, full = check("POST /api/v1/children",
                          lambda: client.post("/api/v1/children", json=record(), headers=headers))
    assert created.status_code == 201 and full
    child = created.get_json()
    url = f"/api/v1/children/{child['id']}"
    # A PATCH that changes nothing answers with the record; so does one that changes something.
    for body in ({"version": 1}, {"version": 1, "school_name": "一小"}):
        response, _ = check(f"PATCH {body}", lambda body=body: client.patch(url, json=body, headers=headers))
        assert response.status_code == 200
    transfer = client.post(f"{url}/transfer", json={"to_village": SIBLING_VILLAGE}, headers=headers)
    assert transfer.status_code == 201, transfer.get_json()
    upload = client.post("/api/v1/children/imports", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(excel.template_workbook()), "t.xlsx")})
    values = {"child_id": child["id"], "version": 1, "code": VILLAGE, "transfer_id": transfer.get_json()["id"],
              "import_id": upload.get_json()["id"], "user_id": director.id}

    shown = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or "logout" in rule.endpoint:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values.get(m.group(1), 1)), rule.rule)
        target = f"{path}?full_ids=1&purpose=walk"
        _, full = check(rule.rule, lambda target=target: client.get(target, headers=headers))
        if full:
            shown.add(rule.rule)
    # The walk reached the places that do show full numbers (else it proves nothing).
    assert {"/api/v1/children/<int:child_id>", "/api/v1/children/<int:child_id>/history/<int:version>",
            "/api/v1/children/export.xlsx", "/children/<int:child_id>", "/children/<int:child_id>/edit",
            "/children/export.xlsx"} <= shown, shown


def test_edit_page_read_is_audited(client, make_user, login, token_for, scoped_sql):
    director = make_user(VILLAGE, "staff")
    child = client.post("/api/v1/children", json=record(), headers=token_for(director.username)).get_json()
    login(client, director.username)
    page = client.get(f"/children/{child['id']}/edit")
    assert page.status_code == 200 and CHILD in page.get_data(as_text=True)
    rows = scoped_sql(VILLAGE, "SELECT action, purpose FROM audit_events WHERE user_id = :u AND child_id = :c "
                               "ORDER BY id", u=director.id, c=child["id"])
    assert rows[-1][0] == "read" and "编辑" in rows[-1][1]


@pytest.fixture
def production_app(_app, db_connection):
    """The application as deployed (not TESTING): unexpected errors are logged and answered with a 500."""
    from tenant_app import create_app

    return create_app({**{k: _app.config[k] for k in ("SHOUHU_DATABASE_URL", "SECRET_KEY", "SHOUHU_REDIS_URL")},
                       "TESTING": False, "WTF_CSRF_ENABLED": False})


def test_database_error_logs_no_personal_data(production_app, make_user, caplog, monkeypatch):
    from tenant_app.children import services

    client = production_app.test_client()
    director = make_user(VILLAGE, "staff")
    token = client.post("/api/v1/auth/token", json={"username": director.username, "password": "Passw0rd!"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    real = services.derive
    # A value the database refuses (too long for its column) makes the INSERT of the whole record fail.
    monkeypatch.setattr(services, "derive", lambda data: {**real(data), "ethnicity": "汉" * 40})
    with caplog.at_level(logging.DEBUG):
        response = client.post("/api/v1/children", json=record(), headers=headers)
    assert response.status_code == 500
    logged = caplog.text + " ".join(str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    assert "value too long" in logged  # the error itself is logged ...
    for secret in (*NUMBERS, "13800001111", "李爷爷"):
        assert secret not in logged  # ... but none of the record's values
