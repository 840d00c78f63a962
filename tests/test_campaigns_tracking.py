"""Campaigns, tracker side: progress with overdue and on-time under a clock the test controls, the overdue
list with directors, reminders and notifications, answers summed, export, isolation (API and RLS alone),
the fan-out with two workers at once, and units loaded later joining open campaigns."""

from __future__ import annotations

import io
import shutil
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from hierarchy.scope import Scope, apply_db_scope
from tenant_app import clock
from tenant_app.campaigns import fanout
from tenant_app.campaigns.models import Campaign, Notification, Task, TaskEvent
from tenant_app.campaigns.progress import answers_summary, summarize_rows
from tenant_app.db import db
from tests import test_campaigns_api as base
from tests.conftest import REGIONS
from tests.test_campaigns_api import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_TOWNSHIP,
    PROVINCE,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    count_units,
    run,
    set_tasks,
)

staff = base.staff
campaign = base.campaign

T = clock.today_cst()
DUE = T + timedelta(days=3)


def cst(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=clock.CST).astimezone(UTC)


def villages_of(prefix: str) -> list[str]:
    return list(run("scalars", text("SELECT code FROM units WHERE code >= :lo AND code < :hi AND level = 5 "
                                    "AND NOT retired ORDER BY code"), {"lo": prefix, "hi": prefix + ":"}))


def test_progress_overdue_and_on_time_with_a_controlled_clock(client, campaign, staff):
    data = campaign(PROVINCE, due_on=DUE.isoformat())
    township_villages = villages_of(TOWNSHIP)
    on_time, late, approved, returned, draft = township_villages[:5]
    set_tasks(data["id"], [on_time], status="submitted", submitted_at=cst(DUE, 23, 59))
    set_tasks(data["id"], [late], status="submitted", submitted_at=cst(DUE + timedelta(days=1), 0, 1))
    set_tasks(data["id"], [approved], status="approved", submitted_at=cst(DUE, 9))
    set_tasks(data["id"], [returned], status="returned", submitted_at=cst(DUE, 10))
    set_tasks(data["id"], [draft], status="draft")
    county = staff(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/progress"
    n = len(township_villages)
    with clock.frozen(cst(DUE, 23, 30)):  # the due date has not ended in China
        body = client.get(f"{url}?unit={TOWNSHIP}", headers=county).get_json()
    assert (body["unit"], body["total"], body["overdue"]) == (TOWNSHIP, n, 0)
    with clock.frozen(cst(DUE + timedelta(days=1), 0, 30)):  # 16:30 UTC on the due date: over in China
        body = client.get(f"{url}?unit={TOWNSHIP}", headers=county).get_json()
        county_body = client.get(url, headers=county).get_json()
    assert (body["not_started"], body["draft"], body["submitted"], body["approved"], body["returned"]) == (
        n - 5, 1, 2, 1, 1)
    assert body["overdue"] == n - 5 + 1 + 1
    assert body["completion_rate"] == round(3 / n, 4)
    assert body["on_time_rate"] == round(2 / 3, 4)
    assert [c["code"] for c in body["children"]] == sorted(township_villages)[:0] + [
        c["code"] for c in sorted(body["children"], key=lambda c: (c["completion_rate"], -c["overdue"], c["code"]))]
    assert {c["code"] for c in body["children"]} == set(township_villages)
    # the county: one row per township, worst first; the township with the work done comes last
    assert county_body["unit"] == COUNTY and county_body["total"] == count_units(COUNTY, 5)
    rows = county_body["children"]
    assert {r["code"] for r in rows} == set(run("scalars", text(
        "SELECT code FROM units WHERE parent_code = :c AND NOT retired AND level = 4 AND EXISTS "
        "(SELECT 1 FROM units v WHERE v.code >= units.code AND v.code < units.code || ':' AND v.level = 5)"),
        {"c": COUNTY}))
    assert rows[-1]["code"] == TOWNSHIP and rows[-1]["completion_rate"] > 0
    assert all(r["completion_rate"] == 0 for r in rows[:-1])
    assert [r["overdue"] for r in rows[:-1]] == sorted((r["overdue"] for r in rows[:-1]), reverse=True)
    # nothing completed: no on-time rate
    assert rows[0]["on_time_rate"] is None


def test_overdue_list_names_the_directors(client, campaign, staff, make_user):
    data = campaign(COUNTY, due_on=DUE.isoformat())
    make_user(VILLAGE, "staff", real_name="王主任", phone="13712345678")
    make_user(VILLAGE, "viewer", real_name="只读者", phone="13000000000")
    make_user(VILLAGE, "staff", real_name="停用者", active=False)
    set_tasks(data["id"], [SIBLING_VILLAGE], status="submitted", submitted_at=cst(DUE, 8))
    url = f"/api/v1/campaigns/{data['id']}/overdue?unit={TOWNSHIP}&per_page=5"
    with clock.frozen(cst(DUE + timedelta(days=2), 9)):
        body = client.get(url, headers=data["headers"]).get_json()
    assert body["total"] == len(villages_of(TOWNSHIP)) - 1 and len(body["items"]) == 5
    first = body["items"][0]
    assert (first["code"], first["days_overdue"], first["status"]) == (VILLAGE, 2, "pending")
    # (other committed directors of the same village may be listed too; viewers and disabled users never are)
    directors = {d["name"]: d["phone"] for d in first["directors"]}
    assert directors["王主任"] == "13712345678" and not set(directors) & {"只读者", "停用者"}
    assert SIBLING_VILLAGE not in {i["code"] for i in body["items"]}
    with clock.frozen(cst(DUE, 9)):
        assert client.get(url, headers=data["headers"]).get_json()["total"] == 0


def test_reminders_to_units_and_to_a_subtree_and_notifications(client, campaign, staff):
    data = campaign(PROVINCE)
    url = f"/api/v1/campaigns/{data['id']}/remind"
    county = staff(COUNTY)
    response = client.post(url, json={"units": [VILLAGE, OTHER_TOWNSHIP], "message": "请本周内完成"}, headers=county)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"campaign_id": data["id"], "notified": 2, "tasks_reminded": 1}
    village, sibling = staff(VILLAGE), staff(SIBLING_VILLAGE)
    mine = client.get("/api/v1/notifications", headers=village).get_json()
    assert mine["total"] == 1 and mine["items"][0]["message"] == "请本周内完成"
    assert mine["items"][0]["sender_code"] == COUNTY and mine["items"][0]["campaign_id"] == data["id"]
    assert client.get("/api/v1/notifications", headers=sibling).get_json()["total"] == 0
    # a whole township: every village whose task is not completed
    township_villages = villages_of(TOWNSHIP)
    set_tasks(data["id"], [SIBLING_VILLAGE], status="approved", submitted_at=clock.now())
    response = client.post(url, json={"units": [TOWNSHIP], "subtree": True}, headers=county)
    assert response.get_json()["notified"] == len(township_villages) - 1
    assert response.get_json()["tasks_reminded"] == len(township_villages) - 1
    assert client.get("/api/v1/notifications", headers=sibling).get_json()["total"] == 0
    unread = client.get("/api/v1/notifications?unread=true", headers=village).get_json()
    assert unread["total"] == 2 and "截止" in unread["items"][0]["message"]
    events = run("scalar", select(func.count()).select_from(TaskEvent).join(Task, Task.id == TaskEvent.task_id)
                 .where(Task.campaign_id == data["id"], TaskEvent.kind == "reminded", Task.region_code == VILLAGE))
    assert events == 2
    read = client.post(f"/api/v1/notifications/{unread['items'][0]['id']}/read", headers=village)
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert client.get("/api/v1/notifications?unread=true", headers=village).get_json()["total"] == 1
    assert client.post(f"/api/v1/notifications/{unread['items'][1]['id']}/read", headers=sibling).status_code == 404
    # refusals: outside the subtree, outside the campaign's levels, a village, a viewer; nothing written
    before = run("scalar", select(func.count()).select_from(Notification))
    bad = client.post(url, json={"units": [VILLAGE, "440204001001"]}, headers=county)
    assert bad.status_code == 422 and "440204001001" in bad.get_json()["errors"]["units"][0]
    assert client.post(url, json={"units": []}, headers=county).status_code == 422
    assert client.post(url, json={"units": [SIBLING_VILLAGE]}, headers=village).status_code == 403
    assert client.post(url, json={"units": [VILLAGE]}, headers=staff(COUNTY, "viewer")).status_code == 403
    assert run("scalar", select(func.count()).select_from(Notification)) == before
    # the province reminds its whole tree at once
    whole = client.post(url, json={"units": [PROVINCE], "subtree": True}, headers=data["headers"]).get_json()
    assert whole["notified"] == data["task_count"] - 1


def test_home_page_shows_reminders_and_directives_to_acknowledge(client, campaign, staff, make_user, login):
    data = campaign(PROVINCE, title="合力监护专项行动")
    county_user = make_user(COUNTY, "staff")
    login(client, county_user.username)
    page = client.get("/").get_data(as_text=True)
    assert 'id="campaign-home"' in page and "合力监护专项行动" in page and 'id="pending-receipts"' in page
    client.post(f"/api/v1/campaigns/{data['id']}/remind", json={"units": [COUNTY]}, headers=data["headers"])
    page = client.get("/").get_data(as_text=True)
    assert 'class="notification"' in page


def test_answers_summary_sql_and_python_agree(client, campaign, staff):
    questions = [
        {"key": "visited", "label": "走访数", "type": "integer", "required": True},
        {"key": "spent", "label": "金额", "type": "number"},
        {"key": "safe", "label": "安全", "type": "yes_no"},
        {"key": "level", "label": "等级", "type": "choice", "options": ["高", "中", "低"]},
        {"key": "risks", "label": "风险", "type": "multi_choice", "options": ["溺水隐患", "交通安全", "其他"]},
        {"key": "notes", "label": "说明", "type": "text"},
        {"key": "day", "label": "日期", "type": "date"},
    ]
    data = campaign(COUNTY, questions=questions)
    v = villages_of(TOWNSHIP)
    set_tasks(data["id"], [v[0]], status="submitted", submitted_at=clock.now(), answers={
        "visited": 3, "spent": 1.5, "safe": True, "level": "高", "risks": ["溺水隐患", "其他"], "notes": "好",
        "day": "2026-07-01"})
    set_tasks(data["id"], [v[1]], status="approved", submitted_at=clock.now(), answers={
        "visited": 4, "spent": 2, "safe": False, "level": "高", "risks": ["溺水隐患"], "notes": ""})
    set_tasks(data["id"], [v[2]], status="draft", answers={"visited": 100, "safe": True})
    set_tasks(data["id"], [v[3]], status="submitted", submitted_at=clock.now(), answers={
        "visited": 0, "safe": None, "risks": []})
    url = f"/api/v1/campaigns/{data['id']}/answers/summary?unit={TOWNSHIP}"
    body = client.get(url, headers=staff(COUNTY)).get_json()
    assert body["completed"] == 3
    by_key = {q["key"]: q for q in body["questions"]}
    assert (by_key["visited"]["sum"], by_key["visited"]["answered"]) == (7, 3)
    assert by_key["spent"]["sum"] == 3.5
    assert (by_key["safe"]["yes"], by_key["safe"]["no"], by_key["safe"]["answered"]) == (1, 1, 2)
    assert by_key["level"]["counts"] == {"高": 2, "中": 0, "低": 0}
    assert by_key["risks"]["counts"] == {"溺水隐患": 2, "交通安全": 0, "其他": 1} and by_key["risks"]["answered"] == 2
    assert (by_key["notes"]["answered"], by_key["day"]["answered"]) == (1, 1)
    answers = [a for a in run("scalars", select(Task.answers).where(
        Task.campaign_id == data["id"], Task.status.in_(("submitted", "approved"))))]
    assert summarize_rows(questions, answers) == body["questions"]
    with db.session_scope(Scope.unit(COUNTY), commit=False) as session:
        the_campaign = session.get(Campaign, data["id"])
        assert answers_summary(session, the_campaign, TOWNSHIP, use_sql=False)["questions"] == body["questions"]
    other = client.get(f"/api/v1/campaigns/{data['id']}/answers/summary?unit={OTHER_TOWNSHIP}",
                       headers=staff(COUNTY)).get_json()
    assert other["completed"] == 0 and other["questions"][0]["sum"] == 0


def test_export_progress_and_answers_xlsx(client, campaign, staff):
    data = campaign(COUNTY)
    v = villages_of(TOWNSHIP)
    set_tasks(data["id"], [v[0]], status="submitted", submitted_at=clock.now(),
              answers={"children_visited": 5, "risks": ["交通安全"]})
    response = client.get(f"/api/v1/campaigns/{data['id']}/export?unit={TOWNSHIP}", headers=staff(TOWNSHIP))
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["进度", "填报结果", "汇总"]
    progress_rows = list(wb["进度"].values)
    assert progress_rows[1][0] == TOWNSHIP and progress_rows[1][2] == len(v) and len(progress_rows) == 2 + len(v)
    answers = list(wb["填报结果"].values)
    assert answers[0][:4] == ("单位代码", "单位名称", "状态", "提交时间") and answers[0][4:] == ("走访儿童数", "风险")
    assert len(answers) == 2 and answers[1][0] == v[0] and answers[1][4:] == (5, "交通安全")


def test_isolation_through_the_api(client, campaign, staff):
    county_campaign = campaign(COUNTY)
    province_campaign = campaign(PROVINCE)
    other_county = staff(OTHER_COUNTY)
    for path in ("", "/progress", "/overdue", "/answers/summary", "/export"):
        assert client.get(f"/api/v1/campaigns/{county_campaign['id']}{path}",
                          headers=other_county).status_code == 404, path
    pid = province_campaign["id"]
    assert client.get(f"/api/v1/campaigns/{pid}/progress?unit={COUNTY}", headers=other_county).status_code == 404
    own = client.get(f"/api/v1/campaigns/{pid}/progress", headers=other_county).get_json()
    assert own["unit"] == OTHER_COUNTY and own["total"] == count_units(OTHER_COUNTY, 5)
    assert all(c["code"].startswith(OTHER_COUNTY) for c in own["children"])
    village = staff(VILLAGE)
    for unit in (SIBLING_VILLAGE, TOWNSHIP, COUNTY):
        for path in ("progress", "overdue", "answers/summary", "export"):
            assert client.get(f"/api/v1/campaigns/{pid}/{path}?unit={unit}", headers=village).status_code == 404
    mine = client.get(f"/api/v1/campaigns/{pid}/progress", headers=village).get_json()
    assert (mine["unit"], mine["total"], mine["children"]) == (VILLAGE, 1, [])
    assert client.post(f"/api/v1/campaigns/{pid}/remind", json={"units": [VILLAGE]},
                       headers=other_county).status_code == 422


def test_isolation_by_row_level_security_alone(campaign, scoped_sql, client, staff):
    county_campaign = campaign(COUNTY)
    pid = campaign(PROVINCE)["id"]
    cid = county_campaign["id"]
    client.post(f"/api/v1/campaigns/{pid}/receipt", json={"note": "新华街道要求"}, headers=staff(TOWNSHIP))
    client.post(f"/api/v1/campaigns/{pid}/receipt", json={"note": "惠民街道要求"}, headers=staff(OTHER_TOWNSHIP))
    assert scoped_sql(OTHER_COUNTY, "SELECT count(*) FROM tasks WHERE campaign_id = :c", c=cid)[0][0] == 0
    assert scoped_sql(OTHER_COUNTY, "SELECT count(*) FROM campaigns WHERE id = :c", c=cid)[0][0] == 0
    assert scoped_sql(OTHER_COUNTY, "SELECT count(*) FROM tasks WHERE campaign_id = :c", c=pid)[0][0] == \
        count_units(OTHER_COUNTY, 5)
    rows = scoped_sql(VILLAGE, "SELECT region_code FROM tasks WHERE campaign_id = :c", c=pid)
    assert rows == [(VILLAGE,)]
    notes = scoped_sql(VILLAGE, "SELECT region_code, note FROM campaign_receipts WHERE campaign_id = :c "
                                "ORDER BY region_code", c=pid)
    assert [r[0] for r in notes] == ["4402", COUNTY, TOWNSHIP] and notes[-1][1] == "新华街道要求"
    assert scoped_sql(VILLAGE, "SELECT count(*) FROM campaigns WHERE id = :c", c=pid)[0][0] == 1
    assert scoped_sql(SIBLING_VILLAGE, "SELECT count(*) FROM notifications")[0][0] == 0
    assert scoped_sql(None, "SELECT count(*) FROM tasks")[0][0] == 0


def test_two_workers_at_once_fan_out_once(_app):
    """Committed data on separate connections: the row lock serialises the two jobs; ON CONFLICT does the rest."""
    engine = db.engine

    def scoped_connection():
        connection = engine.connect()
        connection.begin()
        apply_db_scope(connection, Scope.unit(COUNTY))
        return connection

    connection = scoped_connection()
    campaign_id = connection.execute(text(
        "INSERT INTO campaigns (issuer_code, title, directive, kind, target_level, reviewer_level, starts_on, "
        "due_on, questions, status, task_count, receipt_count, created_at, version) VALUES (:c, '并发', '', "
        "'questionnaire', 5, 4, :d, :d, '[]', 'publishing', 0, 0, now(), 1) RETURNING id"),
        {"c": COUNTY, "d": T}).scalar_one()
    connection.commit()
    connection.close()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            conn = scoped_connection()
            barrier.wait()
            results.append(fanout.fan_out(conn, campaign_id))
            conn.commit()
            conn.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        villages = 89
        assert sorted(r["tasks"] for r in results) == [0, villages]
        assert sorted(r["receipts"] for r in results) == [0, 7]
        connection = scoped_connection()
        row = connection.execute(text("SELECT status, task_count, receipt_count FROM campaigns WHERE id = :c"),
                                 {"c": campaign_id}).one()
        assert tuple(row) == ("open", villages, 7)
        assert connection.execute(text("SELECT count(*) FROM tasks WHERE campaign_id = :c"),
                                  {"c": campaign_id}).scalar() == villages
        connection.close()
    finally:
        connection = scoped_connection()
        connection.execute(text("DELETE FROM campaigns WHERE id = :c"), {"c": campaign_id})
        connection.commit()
        connection.close()


def test_units_loaded_later_join_open_campaigns(campaign, db_connection, tmp_path):
    from hierarchy.loader import load_regions

    data = campaign(COUNTY)
    closed = campaign(COUNTY, headers=data["headers"])
    directory = tmp_path / "shaoguan"
    shutil.copytree(REGIONS / "shaoguan", directory)
    new_village = "440203001999"
    with (directory / "villages.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{new_village},新建社区居民委员会,440203001,44,4402,440203\n")
    with db_connection.begin_nested():
        apply_db_scope(db_connection, Scope(all_tenants=True))
        db_connection.execute(text("UPDATE campaigns SET status = 'closed' WHERE id = :c"), {"c": closed["id"]})
        load_regions(db_connection, [directory])
        added = fanout.join_open_campaigns(db_connection)
        assert added["tasks"] >= 1
        rows = db_connection.execute(text("SELECT campaign_id, reviewer_code, due_on FROM tasks "
                                          "WHERE region_code = :v"), {"v": new_village}).all()
        assert [(r[0], r[1], r[2].isoformat()) for r in rows if r[0] in (data["id"], closed["id"])] == [
            (data["id"], TOWNSHIP, data["due_on"])]
        count = db_connection.execute(text("SELECT task_count FROM campaigns WHERE id = :c"),
                                      {"c": data["id"]}).scalar()
        assert count == data["task_count"] + 1
        assert fanout.join_open_campaigns(db_connection) == {"tasks": 0, "receipts": 0}


@pytest.mark.parametrize("box", ["issued"])
def test_publish_progress_counts_match_the_tasks(client, campaign, box):
    data = campaign(COUNTY)
    body = client.get(f"/api/v1/campaigns/{data['id']}/progress", headers=data["headers"]).get_json()
    assert body["total"] == data["task_count"] == sum(c["total"] for c in body["children"])
    assert body["receipts_total"] == data["receipt_count"] and body["not_started"] == body["total"]
    listing = client.get(f"/api/v1/campaigns?box={box}", headers=data["headers"]).get_json()
    assert listing["items"][0]["status"] == "open"
