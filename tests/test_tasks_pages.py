"""Task pages: the home panel and navigation, my task list, the task form (one input per question type,
draft, an invalid submit that shows errors next to the fields and saves nothing), review (approve, return with
a reason shown to the village), the census page, attachments, English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tenant_app import clock
from tests import tasks_factories
from tests.tasks_factories import SIBLING, TOWNSHIP, VILLAGE
from tests.test_children_api import child_payload, make_id

# The shared fixture, under its own name for pytest.
make_campaign = tasks_factories.make_campaign


@pytest.fixture
def users(make_user):
    return {"director": make_user(VILLAGE, "staff", real_name="王主任"),
            "sibling": make_user(SIBLING, "staff", real_name="李主任"),
            "supervisor": make_user(TOWNSHIP, "staff", real_name="张督导")}


@pytest.fixture
def as_user(app, users, login):
    """as_user(key) -> a test client logged in as that user."""

    def make(key: str):
        c = app.test_client()
        login(c, users[key].username)
        return c

    return make


def page(response) -> str:
    return response.get_data(as_text=True)


def detail(client, task_id, token):
    return client.get(f"/api/v1/tasks/{task_id}", headers=token).get_json()


def test_home_panel_and_navigation(as_user, make_campaign):
    today = clock.today_cst()
    make_campaign(title="下月的任务", due_on=today + timedelta(days=30))
    make_campaign(title="逾期的任务", due_on=today - timedelta(days=1))
    director = as_user("director")
    html = page(director.get("/"))
    assert 'id="nav-tasks"' in html and 'id="nav-review"' not in html
    panel = html[html.index('id="home-tasks"'):]
    assert panel.index("逾期的任务") < panel.index("下月的任务")
    assert panel.count("badge-overdue") == 1
    supervisor = as_user("supervisor")
    html = page(supervisor.get("/"))
    assert 'id="nav-review"' in html and 'id="home-review"' not in html  # nothing submitted yet


def test_task_list_page(as_user, make_campaign):
    today = clock.today_cst()
    make_campaign(title="甲任务", due_on=today + timedelta(days=3))
    make_campaign(title="乙任务", due_on=today - timedelta(days=3))
    director = as_user("director")
    html = page(director.get("/tasks"))
    rows = re.findall(r'<tr class="task-row([^"]*)" data-task="\d+"', html)
    assert rows == [" is-overdue", ""]
    assert html.index("乙任务") < html.index("甲任务")
    assert "甲任务" not in page(director.get("/tasks?tab=open&overdue=1"))
    assert page(director.get("/tasks?tab=approved")).count('class="task-row') == 0
    assert "My tasks" in page(director.get("/tasks?lang=en"))


def test_task_form_has_one_input_per_type_and_the_campaigns_context(as_user, make_campaign):
    made = make_campaign(notes={"440203": "县里的补充说明"}, attachments=[("方案.pdf", b"%PDF-1.4 x")])
    director = as_user("director")
    html = page(director.get(f"/tasks/{made.tasks[VILLAGE]}"))
    assert 'id="task-form"' in html and 'id="save-draft"' in html and 'id="submit-task"' in html
    assert re.search(r'<textarea id="q-summary" name="q_summary"', html)
    assert re.search(r'<input type="number" id="q-children_visited"[^>]*step="1"', html, re.S)
    assert re.search(r'<input type="number" id="q-budget"[^>]*step="any"', html, re.S)
    assert 'type="radio" name="q_all_safe" id="q-all_safe-yes" value="yes"' in html
    assert re.search(r'<select id="q-main_risk" name="q_main_risk"', html)
    assert html.count('type="checkbox" name="q_risks"') == 3
    assert 'type="date" id="q-checked_on"' in html
    assert "请各村认真开展排查工作" in html and "县里的补充说明" in html
    assert 'id="timeline"' in html and 'data-kind="published"' in html
    link = re.search(r'href="(/tasks/\d+/attachments/\d+)"', html).group(1)
    response = director.get(link)
    assert response.status_code == 200 and response.data == b"%PDF-1.4 x"
    assert "attachment" in response.headers["Content-Disposition"]
    # A sibling village gets nothing, the attachment included.
    sibling = as_user("sibling")
    assert sibling.get(f"/tasks/{made.tasks[VILLAGE]}").status_code == 404
    assert sibling.get(link).status_code == 404


def test_draft_then_an_invalid_submit_saves_nothing_then_a_valid_one(as_user, make_campaign, client, people):
    task = make_campaign().tasks[VILLAGE]
    director = as_user("director")
    response = director.post(f"/tasks/{task}", data={"action": "draft", "version": "1", "q_summary": "草稿内容",
                                                     "q_risks": ["溺水隐患"]})
    assert response.status_code == 302
    saved = detail(client, task, people["director"])
    assert saved["status"] == "draft" and saved["answers"] == {"summary": "草稿内容", "risks": ["溺水隐患"]}
    # An invalid submit: a word in a number field and required answers missing.
    response = director.post(f"/tasks/{task}", data={"action": "submit", "version": "2", "q_summary": "改过的内容",
                                                     "q_children_visited": "十二"})
    assert response.status_code == 422
    html = page(response)
    assert 'id="form-errors"' in html
    for key in ("children_visited", "all_safe", "checked_on"):
        assert f'id="{key}-errors"' in html, key
    assert 'value="十二"' in html and "改过的内容" in html  # the posted values are shown again
    after = detail(client, task, people["director"])
    assert after["answers"] == saved["answers"] and after["version"] == 2 and after["status"] == "draft"
    response = director.post(f"/tasks/{task}", data={
        "action": "submit", "version": "2", "q_summary": "完成", "q_children_visited": "12", "q_budget": "1.5",
        "q_all_safe": "yes", "q_main_risk": "交通安全", "q_risks": ["溺水隐患", "交通安全"],
        "q_checked_on": "2026-07-01"})
    assert response.status_code == 302, page(response)[:2000]
    done = detail(client, task, people["director"])
    assert done["status"] == "submitted"
    assert done["answers"] == {"summary": "完成", "children_visited": 12, "budget": 1.5, "all_safe": True,
                               "main_risk": "交通安全", "risks": ["溺水隐患", "交通安全"], "checked_on": "2026-07-01"}
    html = page(director.get(f"/tasks/{task}"))
    assert 'id="submit-task"' not in html and "disabled" in html
    # A stale form is refused with a message, not applied.
    stale = director.post(f"/tasks/{task}", data={"action": "draft", "version": "2", "q_summary": "x"},
                          follow_redirects=True)
    assert detail(client, task, people["director"])["answers"]["summary"] == "完成"
    assert "alert-error" in page(stale)


def test_review_return_then_approve(as_user, make_campaign, client, people):
    task = make_campaign().tasks[VILLAGE]
    client.post(f"/api/v1/tasks/{task}/submit", json={"answers": tasks_factories.VALID}, headers=people["director"])
    supervisor = as_user("supervisor")
    html = page(supervisor.get("/tasks/review"))
    assert 'id="review-list"' in html and f'data-task="{task}"' in html
    assert 'id="home-review-count"' in page(supervisor.get("/"))
    html = page(supervisor.get(f"/tasks/{task}"))
    assert 'id="approve-task"' in html and 'id="return-form"' in html and 'id="return-reason"' in html
    assert 'id="save-draft"' not in html
    response = supervisor.post(f"/tasks/{task}/return", data={"reason": "  "})
    assert response.status_code == 422 and 'id="reason-errors"' in page(response)
    assert detail(client, task, people["director"])["status"] == "submitted"
    assert supervisor.post(f"/tasks/{task}/return", data={"reason": "数字与台账不符"}).status_code == 302
    director = as_user("director")
    html = page(director.get(f"/tasks/{task}"))
    assert 'id="return-reason-box"' in html and "数字与台账不符" in html
    assert 'data-kind="returned"' in html and "张督导" in html
    # The village resubmits its saved answers; the supervisor approves.
    assert director.post(f"/tasks/{task}", data={
        "action": "submit", "q_summary": "已更正", "q_children_visited": "13", "q_all_safe": "no",
        "q_checked_on": "2026-07-02"}).status_code == 302
    assert supervisor.post(f"/tasks/{task}/approve", data={}).status_code == 302
    html = page(director.get(f"/tasks/{task}"))
    assert 'data-status="approved"' in html and 'id="return-reason-box"' not in html
    assert [s["kind"] for s in detail(client, task, people["director"])["timeline"]] == [
        "published", "submitted", "returned", "submitted", "approved"]
    # The village cannot approve through the page either.
    assert as_user("director").post(f"/tasks/{task}/approve", data={}).status_code == 403


def test_census_page_confirms_children(as_user, make_campaign, client, people):
    child = client.post("/api/v1/children", json=child_payload(id_number=make_id(seq="013")),
                        headers=people["director"]).get_json()
    task = make_campaign(kind="census").tasks[VILLAGE]
    director = as_user("director")
    html = page(director.get(f"/tasks/{task}/census"))
    assert 'id="census-list"' in html and 'id="census-counts"' in html
    assert child["id_number"] not in html and child["id_number"][:6] + "********" in html
    assert html.count('class="btn btn-small btn-primary confirm-child"') == 1
    response = director.post(f"/tasks/{task}/census/{child['id']}", data={"action": "confirm"})
    assert response.status_code == 302
    html = page(director.get(f"/tasks/{task}/census"))
    assert 'data-confirmed="yes"' in html and "confirm-child" not in html.replace("unconfirm-child", "")
    assert re.search(r'data-count="confirmed"><span class="count-n">1<', html)
    # The task page submits with the counts filled in.
    assert director.post(f"/tasks/{task}", data={"action": "submit"}).status_code == 302
    body = detail(client, task, people["director"])
    assert body["status"] == "submitted" and body["answers"]["children_rechecked"] == 1


# The API tokens of the same people, for checking what the pages did.
people = tasks_factories.people
