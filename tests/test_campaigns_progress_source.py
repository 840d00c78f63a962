"""Campaign progress from the roll-up's stored rows, and when it must count the tasks instead.

Stored figures are served only while they are exact: the campaign is open, no roll-up that could change them is
pending in the unit's subtree or above it, every row was computed today. Each case checks which source answered
and that the figures equal the ones counted from the tasks.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from hierarchy.scope import Scope, scoped
from sync.outbox import drain_inline, drains_held
from tenant_app import clock
from tenant_app.campaigns import progress as tracking
from tenant_app.campaigns.models import Campaign, Task
from tenant_app.db import db
from tests import test_campaigns_api as base
from tests.test_campaigns_api import COUNTY, OTHER_COUNTY, PROVINCE, QUESTIONS, SIBLING_VILLAGE, TOWNSHIP, VILLAGE, run

staff = base.staff
campaign = base.campaign

ANSWERS = {"children_visited": 3, "risks": ["交通安全"]}


def both(campaign_id: int, unit: str, scope_unit: str | None = None) -> tuple[dict, dict]:
    """progress() and progress_live() for `unit`, read under `scope_unit`'s scope (default: the unit's)."""
    with scoped(Scope.unit(scope_unit or unit)):
        session = db.new_session()
        try:
            item = session.get(Campaign, campaign_id)
            return tracking.progress(session, item, unit), tracking.progress_live(session, item, unit)
        finally:
            session.close()


def same_figures(served: dict, live: dict) -> bool:
    return {k: v for k, v in served.items() if k != "source"} == {k: v for k, v in live.items() if k != "source"}


def task_of(campaign_id: int, code: str) -> int:
    return run("scalar", select(Task.id).where(Task.campaign_id == campaign_id, Task.region_code == code))


def commit_sql(sql: str, **params) -> None:
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.execute(text(sql), params)
        session.commit()
        session.close()


def test_stored_figures_serve_the_province_and_match_the_tasks(client, campaign, staff):
    data = campaign(PROVINCE, questions=QUESTIONS)
    village = staff(VILLAGE)
    assert client.post(f"/api/v1/tasks/{task_of(data['id'], VILLAGE)}/submit", json={"answers": ANSWERS},
                       headers=village).status_code == 200
    for unit in (PROVINCE, COUNTY, TOWNSHIP):
        served, live = both(data["id"], unit)
        assert served["source"] == "stored" and live["source"] == "live"
        assert same_figures(served, live)
        assert served["submitted"] == 1 and served["total"] > served["submitted"]
    # at the target level there is nothing below to read: counted from the tasks
    assert both(data["id"], VILLAGE)[0]["source"] == "live"
    # the API says which
    body = client.get(f"/api/v1/campaigns/{data['id']}/progress?unit={TOWNSHIP}", headers=staff(COUNTY)).get_json()
    assert body["source"] == "stored" and body["submitted"] == 1


def test_a_pending_roll_up_below_or_above_means_counting_the_tasks(client, campaign, staff):
    data = campaign(PROVINCE, questions=QUESTIONS)
    with drains_held():  # the village's submission commits; its roll-up has not run yet
        assert client.post(f"/api/v1/tasks/{task_of(data['id'], SIBLING_VILLAGE)}/submit",
                           json={"answers": ANSWERS}, headers=staff(SIBLING_VILLAGE)).status_code == 200
    served, live = both(data["id"], COUNTY)
    assert served["source"] == "live" and served["submitted"] == 1 and same_figures(served, live)
    # a sibling county has nothing pending: it keeps its stored figures
    other = both(data["id"], OTHER_COUNTY)[0]
    assert other["source"] == "stored"
    drain_inline()
    served, live = both(data["id"], COUNTY)
    assert served["source"] == "stored" and served["submitted"] == 1 and same_figures(served, live)

    # the province extends the deadline: its row, under the province's code, is pending above the county,
    # and the county (which cannot see the province's other rows) sees that it is
    with drains_held():
        response = client.post(f"/api/v1/campaigns/{data['id']}/extend",
                               json={"due_on": (clock.today_cst() + timedelta(days=30)).isoformat()},
                               headers=data["headers"])
        assert response.status_code == 200, response.get_json()
    served, live = both(data["id"], COUNTY)
    assert served["source"] == "live" and same_figures(served, live)
    drain_inline()
    assert both(data["id"], COUNTY)[0]["source"] == "stored"


def test_figures_of_an_earlier_day_are_not_served(client, campaign, staff):
    data = campaign(PROVINCE, questions=QUESTIONS, due_on=(clock.today_cst() + timedelta(days=1)).isoformat())
    assert both(data["id"], COUNTY)[0]["source"] == "stored"
    # two days on, with no write since: the stored overdue counts follow yesterday's date
    with clock.frozen(clock.now() + timedelta(days=2)):
        served, live = both(data["id"], COUNTY)
        assert served["source"] == "live" and served["overdue"] == served["total"] > 0
        assert same_figures(served, live)
    # one township's row summed from an earlier day's figures carries that day: the county counts the tasks
    commit_sql("UPDATE unit_campaign_stats SET as_of = as_of - interval '1 day' "
               "WHERE campaign_id = :c AND unit_code = :u", c=data["id"], u=TOWNSHIP)
    served, live = both(data["id"], COUNTY)
    assert served["source"] == "live" and same_figures(served, live)
    assert both(data["id"], OTHER_COUNTY)[0]["source"] == "stored"


def test_a_closed_campaign_is_counted_from_its_tasks(client, campaign, staff):
    data = campaign(PROVINCE, questions=QUESTIONS)
    assert client.post(f"/api/v1/campaigns/{data['id']}/close", headers=data["headers"]).status_code == 200
    served, live = both(data["id"], PROVINCE)
    assert served["source"] == "live" and served["total"] > 0 and same_figures(served, live)
