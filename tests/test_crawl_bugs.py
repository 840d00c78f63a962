"""Pages and rules that broke where real use begins: lists past one page, progress after the deadline, the
due-visit list's tabs, a census of a big village, times in China Standard Time, a county's own task count,
schooling against age, unattended children due at once, export names."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

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
           SELECT c.id, u.code, substr(u.code, 1, 9), c.due_on, :st,
                  CASE WHEN :st IN ('submitted', 'approved') THEN now() END
           FROM campaigns c JOIN units u ON u.level = 5 AND u.code LIKE :p AND NOT u.retired
           WHERE c.id = ANY(:ids)""", st=task_status, p=villages_prefix + "%", ids=ids)
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
