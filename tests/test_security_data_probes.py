"""The duplicate-ID check is not an oracle across tenants: outside the caller's subtree it never says where,
each answer is audited and counted, repeated answers are throttled (form, API, import dry run alike) and the
province's administrators are alerted."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook

from tenant_app.children import excel, idcard, probes
from tenant_app.i18n import both_languages

VILLAGE = "440203001002"          # holds the records
OUTSIDER = "440204001001"         # a village of another county, same province
OUTSIDER_2 = "440204001002"
PROVINCE = "44"
CODE_RE = re.compile(r"\d{6,12}")


def make_id(birth: str = "20160301", seq: str = "013", area: str = "440203") -> str:
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


def payload(number: str, birth: str = "2016-03-01", **extra) -> dict:
    data = {"name": "李小明", "sex": "male", "birth_date": birth, "id_number": number,
            "father_situation": "away", "mother_situation": "away", "guardian_name": "李爷爷"}
    data.update(extra)
    return data


NUMBERS = [make_id(seq=f"{n:03d}") for n in (13, 15, 17, 19)]  # odd sequence: male


@pytest.fixture
def registered(client, make_user, token_for):
    """Four children registered in VILLAGE: their ID numbers."""
    headers = token_for(make_user(VILLAGE, "staff").username)
    for number in NUMBERS:
        response = client.post("/api/v1/children", json=payload(number), headers=headers)
        assert response.status_code == 201, response.get_json()
    return NUMBERS


@pytest.fixture
def limit_of_three(monkeypatch):
    monkeypatch.setenv("SHOUHU_DUPLICATE_PROBE_LIMIT", "3")


def outside_message(client) -> str:
    """The outside-duplicate message as API bodies carry it: both languages, readers' language unknown."""
    with client.application.test_request_context():
        return both_languages(probes.OUTSIDE_MESSAGE)


def probe_rows(scoped_sql, user_id: int) -> list:
    return scoped_sql(PROVINCE, "SELECT region_code, child_id, user_region_code FROM audit_events "
                                "WHERE user_id = :u AND action = 'duplicate_probe'", u=user_id)


def alerts(scoped_sql, user_id: int) -> list:
    return scoped_sql(PROVINCE, "SELECT region_code, kind, count, message FROM security_alerts WHERE user_id = :u",
                      u=user_id)


def test_outside_duplicate_does_not_say_where_and_is_audited(client, registered, make_user, token_for, scoped_sql):
    outsider = make_user(OUTSIDER, "staff")
    response = client.post("/api/v1/children", json=payload(registered[0]), headers=token_for(outsider.username))
    assert response.status_code == 422
    message = " ".join(response.get_json()["errors"]["id_number"])
    assert VILLAGE not in message and "440203" not in message and not CODE_RE.search(message)
    assert "五祖路" not in message and "record" not in message
    assert message == outside_message(client)
    rows = probe_rows(scoped_sql, outsider.id)
    assert [(r[0], r[2]) for r in rows] == [(VILLAGE, OUTSIDER)]
    # The village that holds the record sees who asked, in its own audit.
    admin = token_for(make_user(VILLAGE[:9], "admin").username)
    audit = client.get("/api/v1/audit", headers=admin).get_json()["items"]
    assert any(a["action"] == "duplicate_probe" and a["user_unit_code"] == OUTSIDER for a in audit)


def test_inside_duplicate_still_says_where(client, registered, make_user, token_for, scoped_sql):
    director = make_user(VILLAGE, "staff")
    response = client.post("/api/v1/children", json=payload(registered[0], name="重复"),
                           headers=token_for(director.username))
    assert response.status_code == 422
    assert VILLAGE in " ".join(response.get_json()["errors"]["id_number"])
    assert probe_rows(scoped_sql, director.id) == []  # the caller may see that record: nothing to count


def test_patch_to_an_outside_number_is_a_probe_too(client, registered, make_user, token_for, scoped_sql):
    outsider = make_user(OUTSIDER, "staff")
    headers = token_for(outsider.username)
    own = client.post("/api/v1/children", json=payload(make_id(area="440204", seq="021")), headers=headers)
    assert own.status_code == 201, own.get_json()
    child = own.get_json()
    response = client.patch(f"/api/v1/children/{child['id']}", headers=headers,
                            json={"version": child["version"], "id_number": registered[1]})
    assert response.status_code == 422
    assert VILLAGE not in str(response.get_json())
    assert len(probe_rows(scoped_sql, outsider.id)) == 1
    # Editing other fields checks no number and counts nothing.
    edit = client.patch(f"/api/v1/children/{child['id']}", headers=headers,
                        json={"version": child["version"], "school_name": "一小"})
    assert edit.status_code == 200
    assert len(probe_rows(scoped_sql, outsider.id)) == 1


def test_repeated_hits_are_throttled_and_reported_to_province_admins(client, registered, make_user, token_for,
                                                                       scoped_sql, limit_of_three, login):
    outsider = make_user(OUTSIDER, "staff")
    headers = token_for(outsider.username)
    for number in registered[:3]:
        assert client.post("/api/v1/children", json=payload(number), headers=headers).status_code == 422
    assert len(probe_rows(scoped_sql, outsider.id)) == 3
    [alert] = alerts(scoped_sql, outsider.id)
    assert alert[0] == PROVINCE and alert[1] == "duplicate_probe" and alert[2] == 3
    assert outsider.username in alert[3] and not any(n in alert[3] for n in registered)

    # Over the limit: no answer at all, hit or miss, until the window has passed.
    for number in (registered[3], make_id(area="440204", seq="031")):
        throttled = client.post("/api/v1/children", json=payload(number), headers=headers)
        assert throttled.status_code == 429
        assert throttled.mimetype == "application/problem+json"
        assert int(throttled.headers["Retry-After"]) > 0
        assert VILLAGE not in throttled.get_data(as_text=True)
    assert len(probe_rows(scoped_sql, outsider.id)) == 3  # refusals are not answers
    # The form page refuses the same way.
    login(client, outsider.username)
    page = client.post("/children/new", data={**payload(registered[3]), "father_situation": "away",
                                              "mother_situation": "away"})
    assert page.status_code == 429

    # Province administrators see the alert; a county administrator and province staff do not.
    province_admin = token_for(make_user(PROVINCE, "admin").username)
    listed = client.get("/api/v1/security-alerts", headers=province_admin)
    assert listed.status_code == 200
    items = [a for a in listed.get_json()["items"] if a["user_id"] == outsider.id]
    assert len(items) == 1 and items[0]["user_unit_code"] == OUTSIDER and items[0]["count"] == 3
    county_admin = token_for(make_user("440204", "admin").username)
    assert client.get("/api/v1/security-alerts", headers=county_admin).get_json()["total"] == 0
    province_staff = token_for(make_user(PROVINCE, "staff").username)
    assert client.get("/api/v1/security-alerts", headers=province_staff).status_code == 403


def _workbook(numbers: list[str], births: list[str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(excel.HEADERS)
    for i, (number, born) in enumerate(zip(numbers, births, strict=True)):
        values = {"姓名": f"儿童{i}", "性别": "男" if int(number[16]) % 2 else "女", "出生日期": born,
                  "身份证号": number, "父亲状况": "外出务工", "母亲状况": "外出务工", "受托监护人姓名": "祖父"}
        ws.append([values.get(h) for h in excel.HEADERS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(client, headers, content: bytes) -> dict:
    response = client.post("/api/v1/children/imports", headers=headers,
                           data={"file": (io.BytesIO(content), "c.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_dry_run_is_no_faster_an_oracle_than_the_form(client, registered, make_user, token_for, scoped_sql,
                                                      limit_of_three):
    fresh = [make_id(area="440204", birth="20150101", seq=f"{n:03d}") for n in (41, 43)]
    # Within the budget: the rows are reported, without saying where, and each hit is counted.
    first = make_user(OUTSIDER, "staff")
    h1 = token_for(first.username)
    body = _upload(client, h1, _workbook(registered[:2] + fresh[:1], ["2016-03-01"] * 2 + ["2015-01-01"]))
    assert body["status"] == "validated" and body["valid_count"] == 1
    assert [e["row"] for e in body["errors"]] == [2, 3]
    assert all(e["message"] == outside_message(client) for e in body["errors"])
    assert VILLAGE not in str(body)
    assert len(probe_rows(scoped_sql, first.id)) == 2
    # The third hit reaches the limit; the next dry run gets no answer at all.
    body = _upload(client, h1, _workbook(registered[2:3], ["2016-03-01"]))
    assert body["status"] == "validated" and len(probe_rows(scoped_sql, first.id)) == 3
    body = _upload(client, h1, _workbook(fresh[1:], ["2015-01-01"]))
    assert body["status"] == "failed" and body["errors"] == [] and "查重过于频繁" in body["message"]
    assert len(probe_rows(scoped_sql, first.id)) == 3

    # More outside hits in one file than the budget: every hit counted, no row reported, province alerted.
    second = make_user(OUTSIDER_2, "staff")
    body = _upload(client, token_for(second.username),
                   _workbook(registered + fresh[:1], ["2016-03-01"] * 4 + ["2015-01-01"]))
    assert body["status"] == "failed"
    assert body["errors"] == [] and body["error_count"] == 0 and body["valid_count"] == 0
    assert VILLAGE not in str(body) and not any(n in str(body) for n in registered)
    assert len(probe_rows(scoped_sql, second.id)) == 4
    assert [a[2] for a in alerts(scoped_sql, second.id)] == [4]
