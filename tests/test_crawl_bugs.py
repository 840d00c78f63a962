"""Pages and rules that broke where real use begins: lists past one page, progress after the deadline, the
due-visit list's tabs, a census of a big village, times in China Standard Time, a county's own task count,
schooling against age, unattended children due at once, export names."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import text

from hierarchy.scope import Scope, scoped
from tenant_app import clock
from tenant_app.db import db
from tests import tasks_factories
from tests.tasks_factories import COUNTY, TOWNSHIP, VILLAGE

make_campaign = tasks_factories.make_campaign

ALL = Scope(all_tenants=True)
TODAY = clock.today_cst()


def sql(statement: str, **params):
    """Write as the operator inside the test's transaction."""
    with scoped(ALL):
        session = db.new_session()
        try:
            result = session.execute(text(statement), params)
            rows = result.all() if result.returns_rows else None
            session.commit()
            return rows
        finally:
            session.close()


def villages_of(prefix: str) -> list[str]:
    return [r[0] for r in sql("SELECT code FROM units WHERE code LIKE :p AND level = 5 AND NOT retired "
                              "ORDER BY code", p=prefix + "%")]


def many_campaigns(n: int, issuer: str, villages_prefix: str, *, status: str = "open", due_on: date | None = None,
                   task_status: str = "pending", kind: str = "questionnaire") -> list[int]:
    """`n` campaigns of `issuer`, each with a task for every village under `villages_prefix` (set-based)."""
    due_on = due_on or TODAY + timedelta(days=5)
    rows = sql("""
        INSERT INTO campaigns (issuer_code, title, directive, kind, target_level, reviewer_level, starts_on, due_on,
                               questions, status, task_count, receipt_count, created_at, published_at, version)
        SELECT :issuer, '分页测试' || n, '', :kind, 5, 4, CAST(:due AS date) - 30, :due, '[]', :status, 0, 0,
               now(), now(), 1
        FROM generate_series(1, :n) n RETURNING id""", issuer=issuer, kind=kind, due=due_on, status=status, n=n)
    ids = [r[0] for r in rows]
    sql("""INSERT INTO tasks (campaign_id, region_code, reviewer_code, due_on, status, submitted_at)
           SELECT c.id, u.code, substr(u.code, 1, 9), c.due_on, CAST(:st AS varchar),
                  CASE WHEN CAST(:done AS boolean) THEN now() END
           FROM campaigns c JOIN units u ON u.level = 5 AND u.code LIKE :p AND NOT u.retired
           WHERE c.id = ANY(:ids)""", st=task_status, done=task_status in ("submitted", "approved"),
        p=villages_prefix + "%", ids=ids)
    sql("UPDATE campaigns SET task_count = (SELECT count(*) FROM tasks t WHERE t.campaign_id = campaigns.id) "
        "WHERE id = ANY(:ids)", ids=ids)
    return ids


def pager_of(body: str) -> str | None:
    match = re.search(r'<span class="pager-pos">([^<]+)</span>', body)
    return match.group(1).strip() if match else None


def get_ok(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


# --- lists past one page --------------------------------------------------------------------------------

def test_task_lists_past_one_page_show_their_pager(client, login, make_user):
    many_campaigns(55, COUNTY, VILLAGE, task_status="submitted")
    login(client, make_user(VILLAGE, "staff").username)
    for tab in ("all", "submitted"):
        assert pager_of(get_ok(client, f"/tasks?tab={tab}")) == "1 / 2"
        assert pager_of(get_ok(client, f"/tasks?tab={tab}&page=2")) == "2 / 2"
    reviewer = make_user(TOWNSHIP, "staff")
    other = client.application.test_client()
    login(other, reviewer.username)
    assert pager_of(get_ok(other, "/tasks/review")) == "1 / 2"
    assert pager_of(get_ok(other, "/campaigns?box=received&page=2")) == "2 / 2"


def test_progress_after_the_deadline_with_more_than_a_page_of_overdue_villages(client, login, make_user):
    (campaign_id,) = many_campaigns(1, "44", COUNTY, due_on=TODAY - timedelta(days=2))
    county_villages = len(villages_of(COUNTY))
    assert county_villages > 50
    for code in ("44", COUNTY):
        c = client.application.test_client()
        login(c, make_user(code, "staff").username)
        body = get_ok(c, f"/campaigns/{campaign_id}/track")
        assert pager_of(body) == f"1 / {(county_villages + 49) // 50}"
        assert body.count('class="overdue-row"') == 50
        assert 'class="overdue-row"' in get_ok(c, f"/campaigns/{campaign_id}/track?page=2")
    # the deadline not yet ended in China: nothing overdue
    with clock.frozen(datetime.combine(TODAY - timedelta(days=2), time(23, 0), tzinfo=clock.CST)):
        assert 'class="overdue-row"' not in get_ok(c, f"/campaigns/{campaign_id}/track")


@pytest.fixture
def big_village(db_connection):
    """60 more children in VILLAGE (set-based generator), created long ago: all due for a visit."""
    from tenant_app.children.demo import generate_children

    generate_children(db_connection, 60, VILLAGE, seed=11)
    sql("UPDATE children SET created_at = now() - interval '400 days' WHERE region_code = :v", v=VILLAGE)
    return sql("SELECT count(*) FROM children WHERE region_code = :v AND status = 'active'", v=VILLAGE)[0][0]


def test_due_visit_tabs_past_one_page_and_the_village_is_named(client, login, make_user, big_village):
    login(client, make_user(TOWNSHIP, "staff").username)
    names = {r[0] for r in sql("SELECT name FROM units WHERE code LIKE :t AND level = 5", t=TOWNSHIP + "%")}
    for status in ("all", "overdue"):
        body = get_ok(client, f"/visits/due?status={status}")
        assert pager_of(body) is not None, status
        assert 'class="due-row"' in get_ok(client, f"/visits/due?status={status}&page=2")
        cells = re.findall(r'<td data-label="村\(居\)"[^>]*>(.*?)</td>', body, re.S)
        assert len(cells) == 50 and all(any(n in cell for n in names) for cell in cells), cells[:3]


def test_census_check_list_of_a_village_with_more_than_50_children(client, login, make_user, make_campaign,
                                                                    big_village):
    made = make_campaign(kind="census", villages=(VILLAGE,))
    login(client, make_user(VILLAGE, "staff").username)
    url = f"/tasks/{made.tasks[VILLAGE]}/census"
    assert pager_of(get_ok(client, url)) == f"1 / {(big_village + 49) // 50}"
    assert 'class="census-row' in get_ok(client, url + "?page=2")
    assert pager_of(get_ok(client, url + "?confirmed=no&page=2")) is not None


# --- times, counts, rules -------------------------------------------------------------------------------

def test_reminders_and_receipts_are_shown_in_china_standard_time(client, login, make_user, make_campaign):
    made = make_campaign(villages=(VILLAGE,))
    at = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 June in China
    sql("INSERT INTO notifications (region_code, kind, campaign_id, message, sender_name, created_at) "
        "VALUES (:v, 'reminder', :c, '请尽快完成', '武江区', :at)", v=VILLAGE, c=made.id, at=at)
    login(client, make_user(VILLAGE, "staff").username)
    home = get_ok(client, "/")
    assert "2026-06-02 00:30" in home and "2026-06-01 16:30" not in home
    (cid,) = many_campaigns(1, "44", TOWNSHIP)
    sql("INSERT INTO campaign_receipts (campaign_id, region_code, acknowledged_at, note) VALUES (:c, :t, :at, '')",
        c=cid, t=TOWNSHIP, at=at)
    other = client.application.test_client()
    login(other, make_user(TOWNSHIP, "staff").username)
    detail = get_ok(other, f"/campaigns/{cid}")
    assert "2026-06-02 00:30" in detail and "2026-06-01 16:30" not in detail


def test_the_stats_export_stamp_is_china_standard_time(client, login, make_user):
    from openpyxl import load_workbook

    from sync import rollup

    user = make_user(TOWNSHIP, "staff")
    with clock.frozen(datetime(2026, 6, 1, 16, 30, tzinfo=UTC)):
        with scoped(ALL):
            session = db.new_session()
            rollup.rebuild(session.connection(), TOWNSHIP)
            session.execute(text("DELETE FROM sync_outbox"))
            session.commit()
            session.close()
        login(client, user.username)
        response = client.get(f"/dashboard/{TOWNSHIP}/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    stamp = [row for row in sheet.iter_rows(values_only=True) if row[0] and str(row[0]).startswith("统计时间")][0]
    assert "北京时间" in stamp[0] and stamp[1] == "2026-06-02 00:30"


def test_a_county_sees_its_own_task_count_of_a_received_campaign(client, login, make_user):
    (cid,) = many_campaigns(1, "44", "4402")  # every village of the city, more than the county's
    county_tasks = len(villages_of(COUNTY))
    assert sql("SELECT task_count FROM campaigns WHERE id = :c", c=cid)[0][0] > county_tasks
    login(client, make_user(COUNTY, "staff").username)
    body = get_ok(client, "/campaigns?box=received")
    row = re.search(rf'data-id="{cid}".*?class="task-count">(\d+)<', body, re.S)
    assert row and int(row.group(1)) == county_tasks


def test_export_file_name_carries_the_campaign_title(client, login, make_user, make_campaign):
    made = make_campaign(title="暑期/安全排查", villages=(VILLAGE,))
    login(client, make_user(COUNTY, "staff").username)
    response = client.get(f"/campaigns/{made.id}/export.xlsx")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    encoded = re.search(r"filename\*=UTF-8''([^;]+)", disposition).group(1)
    assert unquote(encoded) == f"暑期 安全排查-{COUNTY}.xlsx"
    assert 'filename="' in disposition and disposition.isascii()


def child_payload(**overrides) -> dict:
    from tenant_app.children import idcard

    born = overrides.pop("born", date(2016, 3, 1))
    first17 = VILLAGE[:6] + born.strftime("%Y%m%d") + "013"
    data = {"name": "李小明", "sex": "male", "birth_date": born.isoformat(),
            "id_number": first17 + idcard.check_char(first17), "hukou_registered": True, "hukou_rural": True,
            "health_status": "healthy", "schooling": "primary", "father_situation": "away",
            "mother_situation": "away", "guardian_name": "李爷爷", "is_left_behind": True,
            "income_sources": ["migrant_work"], "assistance": [], "village_code": VILLAGE}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("born_years_ago", "schooling", "refused"), [
    (0, "primary", True), (1, "junior", True), (4, "senior", True), (17, "kindergarten", True),
    (8, "primary", False), (4, "kindergarten", False), (13, "junior", False), (16, "vocational", False),
])
def test_schooling_is_checked_against_age(born_years_ago, schooling, refused):
    from tenant_app.children.validation import validate_child

    born = TODAY.replace(year=TODAY.year - born_years_ago) - timedelta(days=40)
    data = {"birth_date": born, "schooling": schooling}
    from tenant_app.children.validation import check_schooling

    assert ("schooling" in check_schooling(data, TODAY)) is refused
    assert callable(validate_child)


def test_a_baby_in_primary_school_is_refused_with_a_field_error(client, make_user, token_for):
    director = make_user(VILLAGE, "staff")
    born = TODAY - timedelta(days=200)
    response = client.post("/api/v1/children", json=child_payload(born=born, is_left_behind=False),
                           headers=token_for(director.username))
    assert response.status_code in (400, 422), response.get_json()
    errors = response.get_json()["errors"]
    assert "schooling" in errors
    assert sql("SELECT count(*) FROM children WHERE birth_date = :b", b=born)[0][0] == 0


def test_a_child_found_unattended_is_due_for_a_visit_at_once(client, make_user, token_for, login):
    director = make_user(VILLAGE, "staff")
    payload = child_payload(guardian_name="")  # parents away, nobody entrusted: unattended
    response = client.post("/api/v1/children", json=payload, headers=token_for(director.username))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["unattended"] is True
    due = client.get("/api/v1/visits/due?status=all", headers=token_for(director.username)).get_json()
    mine = [i for i in due["items"] if i["child_id"] == body["id"]]
    assert mine and mine[0]["due_on"] == TODAY.isoformat()
    # the stored figures say the same as the list: due today counts as due within 7 days
    from sync.rollup import recompute_in_memory

    with scoped(ALL):
        session = db.new_session()
        figures = recompute_in_memory(session.connection(), VILLAGE)[VILLAGE]
        session.close()
    assert figures["visits_due"] >= 1


# --- operations -----------------------------------------------------------------------------------------

def test_the_quick_start_demo_counts_every_village_of_the_county_and_province(tmp_path):
    """Right after loading a tree and generating children in one township, units no change touched have
    their figures: the county counts its 89 villages, the province all 1,468."""
    import os
    import sqlite3
    import subprocess
    import sys

    env = {**os.environ, "SHOUHU_INSTANCE_DIR": str(tmp_path / "instance")}
    env.pop("SHOUHU_DATABASE_URL", None)
    env.pop("SHOUHU_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "tenant_app.cli", "demo", "setup"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "instance" / "shouhu.sqlite3") as conn:
        villages = dict(conn.execute("SELECT substr(code, 1, 6), count(*) FROM units WHERE level = 5 "
                                     "AND code LIKE '440203%' GROUP BY 1").fetchall())
        stored = dict(conn.execute("SELECT unit_code, villages_total FROM unit_stats "
                                   "WHERE unit_code IN ('44', '4402', '440203', '440204')").fetchall())
        all_villages = conn.execute("SELECT count(*) FROM units WHERE level = 5 AND code LIKE '44%'").fetchone()[0]
        children = conn.execute("SELECT count(*) FROM children").fetchone()[0]
    assert children > 0 and villages["440203"] == 89
    assert stored["440203"] == 89 and stored["44"] == all_villages == 1468 and stored["440204"] > 0


def test_serve_starts_the_gunicorn_of_its_own_environment(tmp_path):
    """systemd runs the venv's `shouhu` without the venv on PATH: `serve` must not look gunicorn up there."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": str(tmp_path), "SHOUHU_INSTANCE_DIR": str(tmp_path / "instance")}
    done = subprocess.run([sys.executable, "-m", "tenant_app.cli", "serve", "--version"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "gunicorn" in (done.stdout + done.stderr).lower()
