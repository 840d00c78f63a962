"""The workforce roster: validation with field errors and nothing written, appointment history, the vacancy and
cover after a departure (the township told, the units above seeing both), version checks, isolation (a sibling
county sees nothing, lists mask ID numbers, full reads audited, partners refused) and the Excel import."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import Workbook

from tenant_app import clock
from tests import cases_factories, roster_factories
from tests.cases_factories import COUNTY, OTHER_COUNTY, PROVINCE, SIBLING_VILLAGE, TOWNSHIP, VILLAGE
from tests.roster_factories import adult_id, person_body

person = cases_factories.person
roster = roster_factories.roster

TODAY = clock.today_cst()
TABLES = ("roster_people", "roster_appointments", "roster_covers", "roster_reads", "roster_imports")


def _count(scoped_sql, table: str, unit: str = PROVINCE) -> int:
    return scoped_sql(unit, f"SELECT count(*) FROM {table}")[0][0]


def test_an_invalid_person_is_refused_field_by_field_and_nothing_is_written(client, person, scoped_sql):
    headers = person(COUNTY)[1]
    bad_check = adult_id()[:17] + ("0" if adult_id()[17] != "0" else "1")
    response = client.post("/api/v1/roster/people", headers=headers, json=person_body(VILLAGE, phone="电话", name=" "))
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"phone", "name"}
    response = client.post("/api/v1/roster/people", headers=headers, json=person_body(VILLAGE, id_number=bad_check))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"id_number"}
    # The sex must match the ID number; a child's number (under 18) is refused.
    response = client.post("/api/v1/roster/people", headers=headers,
                           json=person_body(VILLAGE, sex="female", id_number=adult_id("male")))
    assert set(response.get_json()["errors"]) == {"sex"}
    response = client.post("/api/v1/roster/people", headers=headers,
                           json=person_body(VILLAGE, id_number=adult_id(birth="20150301")))
    assert set(response.get_json()["errors"]) == {"id_number"}
    # Rules of single fields are refused by the schema before the service (the document states them).
    response = client.post("/api/v1/roster/people", headers=headers, json=person_body(VILLAGE, name="张" * 65))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"name"}
    response = client.post("/api/v1/roster/people", headers=headers, json=person_body("4402030010021"))
    assert response.status_code == 422 and "unit_code" in response.get_json()["errors"]
    assert all(_count(scoped_sql, t) == 0 for t in TABLES)
    # A village's staff and viewers read only.
    response = client.post("/api/v1/roster/people", headers=person(VILLAGE)[1], json=person_body(VILLAGE))
    assert response.status_code == 403
    assert _count(scoped_sql, "roster_people") == 0


def test_appointment_history_of_a_village(client, person, roster):
    headers = person(COUNTY)[1]
    first, appointment = roster(VILLAGE, appointed_on="2024-03-01", name="王一")
    # The post is held: another appointment is a conflict until the departure is recorded.
    second = client.post("/api/v1/roster/people", headers=headers, json=person_body(VILLAGE, name="李二")).get_json()
    body = {"person_id": second["id"], "unit_code": VILLAGE, "employment": "full_time",
            "appointed_on": (TODAY - timedelta(days=3)).isoformat()}
    assert client.post("/api/v1/roster/appointments", headers=headers, json=body).status_code == 409
    ended = client.post(f"/api/v1/roster/appointments/{appointment['id']}/end", headers=headers, json={
        "version": appointment["version"], "left_on": (TODAY - timedelta(days=5)).isoformat(),
        "leave_reason": "外出务工"})
    assert ended.status_code == 200, ended.get_json()
    # Recording it twice, or with the version read before, is a conflict.
    again = client.post(f"/api/v1/roster/appointments/{appointment['id']}/end", headers=headers, json={
        "version": appointment["version"], "left_on": TODAY.isoformat()})
    assert again.status_code == 409
    assert client.post("/api/v1/roster/appointments", headers=headers, json=body).status_code == 201
    unit = client.get(f"/api/v1/roster/units/{VILLAGE}", headers=headers).get_json()
    assert [h["person_name"] for h in unit["history"]] == ["李二", "王一"]
    assert unit["holder"]["person_name"] == "李二" and unit["history"][1]["leave_reason"] == "外出务工"
    assert unit["post"] == "director"
    record = client.get(f"/api/v1/roster/people/{first['id']}", headers=headers).get_json()
    assert [a["unit_code"] for a in record["appointments"]] == [VILLAGE]
    assert record["appointments"][0]["left_on"] == (TODAY - timedelta(days=5)).isoformat()
    listed = client.get("/api/v1/roster/appointments", headers=headers, query_string={"unit": VILLAGE}).get_json()
    assert listed["total"] == 2


def test_a_departure_leaves_a_vacancy_the_township_is_told_and_a_cover_is_seen_above(client, person, roster):
    county = person(COUNTY)[1]
    _, leaving = roster(VILLAGE, name="王一")
    neighbour, _ = roster(SIBLING_VILLAGE, name="赵邻")
    supervisor, _ = roster(TOWNSHIP, name="钱督导")
    other_township, _ = roster("440203002001", name="孙外乡")
    left_on = TODAY - timedelta(days=10)
    response = client.post(f"/api/v1/roster/appointments/{leaving['id']}/end", headers=county, json={
        "version": leaving["version"], "left_on": left_on.isoformat(), "leave_reason": "辞职"})
    assert response.status_code == 200
    # The township is told the village is vacant; the notification leads to the roster's unit page.
    notes = client.get("/api/v1/notifications", headers=person(TOWNSHIP)[1]).get_json()["items"]
    vacant = [n for n in notes if n["kind"] == "roster_vacant"]
    assert len(vacant) == 1 and VILLAGE in vacant[0]["link"]
    vacancies = client.get("/api/v1/roster/vacancies", headers=county,
                           query_string={"post": "director", "unit": TOWNSHIP}).get_json()
    mine = next(v for v in vacancies["items"] if v["unit_code"] == VILLAGE)
    assert mine["vacant_days"] == 10 and mine["basis"] == "left" and mine["cover"] is None
    # Only a director of the same township or the township's supervisor may cover a village.
    refused = client.post("/api/v1/roster/covers", headers=county,
                          json={"unit_code": VILLAGE, "person_id": other_township["id"]})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"person_id"}
    cover = client.post("/api/v1/roster/covers", headers=person(TOWNSHIP)[1],
                        json={"unit_code": VILLAGE, "person_id": neighbour["id"], "since": left_on.isoformat()})
    assert cover.status_code == 201, cover.get_json()
    assert cover.get_json()["kind"] == "neighbour_director" and cover.get_json()["coverer_name"] == "赵邻"
    # A second cover while the first runs is a conflict; the township supervisor could have covered too.
    second = client.post("/api/v1/roster/covers", headers=county,
                         json={"unit_code": VILLAGE, "person_id": supervisor["id"]})
    assert second.status_code == 409
    for unit in (TOWNSHIP, COUNTY, "4402", PROVINCE):
        found = client.get("/api/v1/roster/vacancies", headers=person(unit)[1],
                           query_string={"covered": "true"}).get_json()["items"]
        row = next(v for v in found if v["unit_code"] == VILLAGE)
        assert row["cover"]["coverer_name"] == "赵邻", unit
        counts = client.get("/api/v1/roster", headers=person(unit)[1]).get_json()["director"]
        assert counts["covered"] >= 1 and counts["vacant"] >= 1
    # The unit page shows the cover and the open work the coverer takes over; the village reads it too.
    page = client.get(f"/api/v1/roster/units/{VILLAGE}", headers=person(VILLAGE)[1]).get_json()
    assert page["holder"] is None and page["cover"]["coverer_name"] == "赵邻"
    assert set(page["open_work"]) == {"open_tasks", "overdue_visits", "due_soon_visits", "open_cases"}
    # A successor ends the cover the day before their first day.
    successor = client.post("/api/v1/roster/people", headers=county, json=person_body(VILLAGE, name="周新")).get_json()
    response = client.post("/api/v1/roster/appointments", headers=county, json={
        "person_id": successor["id"], "unit_code": VILLAGE, "employment": "full_time",
        "appointed_on": TODAY.isoformat()})
    assert response.status_code == 201
    page = client.get(f"/api/v1/roster/units/{VILLAGE}", headers=county).get_json()
    assert page["covers"][0]["until"] == (TODAY - timedelta(days=1)).isoformat()
    left = client.get("/api/v1/roster/vacancies", headers=county,
                      query_string={"per_page": 500, "unit": TOWNSHIP}).get_json()
    assert VILLAGE not in {v["unit_code"] for v in left["items"]}


def test_a_unit_never_filled_counts_from_its_loading(client, person):
    items = client.get("/api/v1/roster/vacancies", headers=person(TOWNSHIP)[1],
                       query_string={"per_page": 500}).get_json()["items"]
    assert items and all(v["basis"] == "never_filled" for v in items)
    assert {v["post"] for v in items} == {"director", "supervisor"}


def test_a_stale_version_is_a_conflict_and_changes_nothing(client, person, roster):
    headers = person(COUNTY)[1]
    made, _ = roster(VILLAGE)
    ok = client.patch(f"/api/v1/roster/people/{made['id']}", headers=headers,
                      json={"version": made["version"], "phone": "13900003333"})
    assert ok.status_code == 200 and ok.get_json()["phone"] == "13900003333"
    stale = client.patch(f"/api/v1/roster/people/{made['id']}", headers=headers,
                         json={"version": made["version"], "phone": "13900004444"})
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_version"
    assert client.get(f"/api/v1/roster/people/{made['id']}", headers=headers).get_json()["phone"] == "13900003333"


def test_isolation_masking_and_audit(client, person, roster, scoped_sql, make_user, login):
    made, appointment = roster(VILLAGE)
    listed = client.get("/api/v1/roster/people", headers=person(TOWNSHIP)[1]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id_number"] == made["id_number"][:6] + "********" + \
        made["id_number"][-4:]
    reads_before = _count(scoped_sql, "roster_reads")
    full = client.get(f"/api/v1/roster/people/{made['id']}", headers=person(TOWNSHIP, "viewer")[1],
                      query_string={"purpose": "核对"})
    assert full.status_code == 200 and full.get_json()["id_number"] == made["id_number"]
    reads = scoped_sql(COUNTY, "SELECT user_region_code, purpose FROM roster_reads ORDER BY id")
    assert len(reads) == reads_before + 1 and tuple(reads[-1]) == (TOWNSHIP, "核对")
    # A sibling county: nothing through the API, nothing under row-level security alone.
    sibling = person(OTHER_COUNTY)[1]
    assert client.get("/api/v1/roster/people", headers=sibling).get_json()["total"] == 0
    assert client.get(f"/api/v1/roster/people/{made['id']}", headers=sibling).status_code == 404
    assert client.get(f"/api/v1/roster/appointments/{appointment['id']}", headers=sibling).status_code == 404
    assert client.get(f"/api/v1/roster/units/{VILLAGE}", headers=sibling).status_code == 404
    assert client.get("/api/v1/roster/people", headers=sibling, query_string={"unit": COUNTY}).status_code == 404
    for table in ("roster_people", "roster_appointments", "roster_reads"):
        assert _count(scoped_sql, table, OTHER_COUNTY) == 0 and _count(scoped_sql, table, COUNTY) >= 1
    # Partner reporters reach no roster page or endpoint.
    partner = person(TOWNSHIP, "reporter")[1]
    assert client.get("/api/v1/roster", headers=partner).status_code == 403
    assert client.get("/api/v1/roster/vacancies", headers=partner).status_code == 403
    reporter = make_user(TOWNSHIP, "reporter")
    page_client = client.application.test_client()
    login(page_client, reporter.username)
    assert page_client.get("/roster").status_code == 403
    assert page_client.get(f"/roster/units/{VILLAGE}").status_code == 403


def _workbook(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["单位代码", "姓名", "性别", "身份证号", "联系电话", "岗位性质", "兼任职务", "任职日期", "资格证书"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_import_dry_run_lists_errors_and_writes_nothing_then_applies(client, person, scoped_sql):
    headers = person(COUNTY)[1]
    good, twin = adult_id(), adult_id("female")
    content = _workbook([
        [VILLAGE, "张一", "男", good, "13800001111", "兼职", "村委委员", "2025-02-01", ""],
        [SIBLING_VILLAGE, "李二", "男", good, "13800001112", "专职", "", "2025-02-01", ""],  # same ID as row 2
        ["440204001001", "王三", "女", twin, "13800001113", "专职", "", "2025-02-01", ""],  # another county
        [TOWNSHIP, "赵四", "女", twin, "电话", "全职", "", "2025-13-01", ""],  # repeats row 4
    ])
    response = client.post("/api/v1/roster/imports", headers=headers,
                           data={"file": (io.BytesIO(content), "名册.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    imp = response.get_json()
    assert (imp["total_rows"], imp["valid_count"]) == (4, 1)
    fields_by_row = {}
    for error in imp["errors"]:
        fields_by_row.setdefault(error["row"], set()).add(error["field"])
    assert fields_by_row == {3: {"id_number"}, 4: {"unit_code"},
                             5: {"phone", "employment", "appointed_on", "id_number"}}
    assert _count(scoped_sql, "roster_people") == 0 and _count(scoped_sql, "roster_appointments") == 0
    sheet = client.get(f"/api/v1/roster/imports/{imp['id']}/errors.xlsx", headers=headers)
    assert sheet.status_code == 200 and sheet.data[:2] == b"PK"
    applied = client.post(f"/api/v1/roster/imports/{imp['id']}/confirm", headers=headers)
    assert applied.status_code == 200 and applied.get_json()["applied_count"] == 1
    assert client.post(f"/api/v1/roster/imports/{imp['id']}/confirm", headers=headers).status_code == 409
    unit = client.get(f"/api/v1/roster/units/{VILLAGE}", headers=headers).get_json()
    assert unit["holder"]["person_name"] == "张一" and unit["holder"]["other_post"] == "村委委员"
    exported = client.get("/api/v1/roster/export.xlsx", headers=headers)
    assert exported.status_code == 200 and exported.data[:2] == b"PK"


def test_a_post_is_kept_from_above_its_unit(client, person, roster):
    made, appointment = roster(TOWNSHIP, name="钱督导")
    township = person(TOWNSHIP)[1]
    response = client.post(f"/api/v1/roster/appointments/{appointment['id']}/end", headers=township,
                           json={"version": appointment["version"], "left_on": TODAY.isoformat()})
    assert response.status_code == 403
    response = client.post(f"/api/v1/roster/appointments/{appointment['id']}/end", headers=person(COUNTY)[1],
                           json={"version": appointment["version"], "left_on": TODAY.isoformat()})
    assert response.status_code == 200
    # The county is told its township has no supervisor.
    notes = client.get("/api/v1/notifications", headers=person(COUNTY)[1]).get_json()["items"]
    assert [n["kind"] for n in notes] == ["roster_vacant"]


def test_a_person_links_to_one_login_account_of_the_area(client, person, make_user, roster):
    headers = person(COUNTY)[1]
    account = make_user(VILLAGE, "staff")
    sibling_account = make_user("440204001001", "staff")
    made, _ = roster(VILLAGE)
    linked = client.patch(f"/api/v1/roster/people/{made['id']}", headers=headers,
                          json={"version": made["version"], "user_id": account.id})
    assert linked.status_code == 200 and linked.get_json()["user_id"] == account.id
    other = client.post("/api/v1/roster/people", headers=headers,
                        json=person_body(SIBLING_VILLAGE, user_id=account.id))
    assert other.status_code == 422 and set(other.get_json()["errors"]) == {"user_id"}
    outside = client.post("/api/v1/roster/people", headers=headers,
                          json=person_body(SIBLING_VILLAGE, user_id=sibling_account.id))
    assert outside.status_code == 422 and set(outside.get_json()["errors"]) == {"user_id"}


file_report = cases_factories.file_report
new_child = cases_factories.new_child


def test_the_open_work_stays_with_the_village_and_the_coverer_sees_it(client, person, roster, new_child,
                                                                       file_report):
    child = new_child()
    file_report(child_ids=[child["id"]], unknown_child_description="", category="living_alone")
    _, leaving = roster(VILLAGE, name="王一")
    neighbour, _ = roster(SIBLING_VILLAGE, name="赵邻")
    before = client.get(f"/api/v1/roster/units/{VILLAGE}", headers=person(TOWNSHIP)[1]).get_json()["open_work"]
    assert before["open_cases"] == 1 and before["due_soon_visits"] + before["overdue_visits"] == 1
    response = client.post(f"/api/v1/roster/appointments/{leaving['id']}/end", headers=person(COUNTY)[1], json={
        "version": leaving["version"], "left_on": TODAY.isoformat(), "cover_person_id": neighbour["id"]})
    assert response.status_code == 200, response.get_json()
    after = client.get(f"/api/v1/roster/units/{VILLAGE}", headers=person(TOWNSHIP)[1]).get_json()
    assert after["open_work"] == before and after["cover"]["coverer_name"] == "赵邻"
    # The township's notification names the cover.
    notes = client.get("/api/v1/notifications", headers=person(TOWNSHIP)[1]).get_json()["items"]
    assert "赵邻" in next(n for n in notes if n["kind"] == "roster_vacant")["message"]
