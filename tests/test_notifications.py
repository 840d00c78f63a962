"""The notification centre: reminders (set-based to a subtree), returned and approved tasks, transfers asked
and decided; the unread count in the navigation; the list paged 50 a page, unread first, mark read and mark
all read (page and API); a notification to one user stays with that user; times in China Standard Time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text

from hierarchy.scope import Scope, scoped
from tenant_app import clock
from tenant_app.db import db
from tenant_app.notifications.services import notify
from tests import tasks_factories
from tests.tasks_factories import SIBLING, TOWNSHIP, VALID, VILLAGE
from tests.test_children_api import child_payload

make_campaign = tasks_factories.make_campaign
people = tasks_factories.people


def text_of(response) -> str:
    return response.get_data(as_text=True)


def mine(client, headers, query=""):
    response = client.get(f"/api/v1/notifications{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_returned_and_approved_tasks_reach_the_village(client, make_campaign, people):
    made = make_campaign(title="暑期排查")
    task = made.tasks[VILLAGE]
    director, supervisor = people["director"], people["supervisor"]
    assert client.post(f"/api/v1/tasks/{task}/submit", json={"answers": VALID}, headers=director).status_code == 200
    assert client.post(f"/api/v1/tasks/{task}/return", json={"reason": "数字不符"}, headers=supervisor
                       ).status_code == 200
    body = mine(client, director)
    assert body["unread_count"] == 1
    first = body["items"][0]
    assert (first["kind"], first["title"], first["message"], first["link"]) == (
        "task_returned", "任务被退回：暑期排查", "数字不符", f"/tasks/{task}")
    assert first["sender_name"] == "张督导"
    assert client.post(f"/api/v1/tasks/{task}/submit", json={}, headers=director).status_code == 200
    assert client.post(f"/api/v1/tasks/{task}/approve", json={}, headers=supervisor).status_code == 200
    body = mine(client, director)
    assert [i["kind"] for i in body["items"]] == ["task_approved", "task_returned"]
    # The sibling village and the supervisor's own unit hear nothing of it.
    assert mine(client, people["sibling"])["total"] == 0 and mine(client, supervisor)["total"] == 0


def test_transfers_requested_and_decided(client, people):
    director, sibling = people["director"], people["sibling"]
    child = client.post("/api/v1/children", json=child_payload(), headers=director).get_json()
    asked = client.post(f"/api/v1/children/{child['id']}/transfer", json={"to_village": SIBLING, "reason": "迁居"},
                        headers=director)
    assert asked.status_code == 201, asked.get_json()
    incoming = mine(client, sibling)
    assert incoming["unread_count"] == 1 and incoming["items"][0]["kind"] == "transfer_in"
    assert incoming["items"][0]["title"] == "迁入申请：李小明" and incoming["items"][0]["link"] == "/transfers"
    assert mine(client, director)["total"] == 0
    assert client.post(f"/api/v1/transfers/{asked.get_json()['id']}/reject", headers=sibling).status_code == 200
    decided = mine(client, director)
    assert decided["items"][0]["kind"] == "transfer_done" and decided["items"][0]["title"] == "迁移已拒绝：李小明"


def test_subtree_reminder_is_set_based_and_the_centre_pages_unread_first(client, app, make_campaign, people, login):
    made = make_campaign(villages=[VILLAGE, SIBLING, "440203001004"])
    county = people["county"]
    response = client.post(f"/api/v1/campaigns/{made.id}/remind", json={"units": [TOWNSHIP], "subtree": True},
                           headers=county)
    assert response.status_code == 201 and response.get_json()["notified"] == 3
    got = mine(client, people["director"])["items"][0]
    assert got["kind"] == "reminder" and got["title"].startswith("催办：")
    assert got["link"] == f"/tasks/{made.tasks[VILLAGE]}"
    # 59 older ones, written set-based by the test, at a known moment (16:30 UTC = 00:30 the next day in China).
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.execute(text(
            "INSERT INTO notifications (region_code, kind, message, sender_name, created_at, title, link) "
            "SELECT :code, 'reminder', 'old ' || n, '县民政', :at, '旧通知 ' || n, '' "
            "FROM generate_series(1, 59) AS n"), {"code": VILLAGE, "at": datetime(2026, 1, 1, 16, 30, tzinfo=UTC)})
        session.commit()
        session.close()
    director = people["director"]
    oldest = [i for i in mine(client, director, "?per_page=500")["items"] if i["title"] == "旧通知 7"][0]
    assert client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=director).status_code == 200
    body = mine(client, director)
    assert (body["total"], body["unread_count"], len(body["items"])) == (60, 59, 50)
    second = mine(client, director, "?page=2")["items"]
    assert len(second) == 10 and second[-1]["id"] == oldest["id"]  # read ones come last
    assert mine(client, director, "?unread=true")["total"] == 59

    login(client, people["director_user"].username)
    home = text_of(client.get("/"))
    assert re.search(r'id="unread-count">59<', home) and 'href="/notifications"' in home
    page1 = text_of(client.get("/notifications"))
    assert page1.count('class="notification-item') == 50 and 'rel="next"' in page1
    assert "2026-01-02 00:30" in page1  # China Standard Time
    page2 = text_of(client.get("/notifications?page=2"))
    assert page2.count('class="notification-item') == 10 and f'id="notification-{oldest["id"]}"' in page2
    one = re.search(r'id="notification-(\d+)"', page1).group(1)
    assert client.post(f"/notifications/{one}/read", data={"next": "/notifications"}).status_code == 302
    assert re.search(r'id="unread-count">58<', text_of(client.get("/notifications")))
    assert client.post("/notifications/read-all").status_code == 302
    after = text_of(client.get("/notifications"))
    assert 'id="unread-count"' not in after
    assert not any("unread" in c for c in re.findall(r'class="notification-item([^"]*)"', after))
    assert mine(client, director)["unread_count"] == 0
    # The sibling village's reminder is untouched by the director's "mark all read".
    assert mine(client, people["sibling"])["unread_count"] == 1
    assert client.post("/api/v1/notifications/read-all", headers=people["sibling"]).get_json() == {"marked": 1}


def test_a_notification_to_one_user_stays_with_that_user(client, app, people, make_user, token_for):
    director = people["director_user"]
    colleague = make_user(VILLAGE, "staff")
    with app.app_context(), clock.frozen(datetime(2026, 3, 1, 1, 0, tzinfo=UTC)), scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        notify(session, VILLAGE, "reminder", "只给王主任", user_id=director.id)
        session.commit()
        session.close()
    assert [i["title"] for i in mine(client, people["director"])["items"]] == ["只给王主任"]
    theirs = token_for(colleague.username)
    assert mine(client, theirs)["total"] == 0
    item = mine(client, people["director"])["items"][0]
    assert client.post(f"/api/v1/notifications/{item['id']}/read", headers=theirs).status_code == 404
    assert client.post(f"/api/v1/notifications/{item['id']}/read", headers=people["sibling"]).status_code == 404
