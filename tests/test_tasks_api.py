"""Tasks through the API: form validation per question type, draft → submit → return → resubmit → approve
with the timeline, who may do what, stale versions, closed campaigns, the list (filters, order, overdue with a
controlled clock), the review queue, and the task's campaign, notes and attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenant_app import clock
from tests import tasks_factories
from tests.tasks_factories import QUESTIONS, SIBLING, THIRD, TOWNSHIP, VALID, VILLAGE

# The shared fixtures, under their own names for pytest.
close_campaign = tasks_factories.close_campaign
make_campaign = tasks_factories.make_campaign
people = tasks_factories.people


def url(task_id: int, action: str = "") -> str:
    return f"/api/v1/tasks/{task_id}" + (f"/{action}" if action else "")


@pytest.mark.parametrize(("key", "bad"), [
    ("summary", 12), ("summary", "x" * 2001),
    ("children_visited", "12"), ("children_visited", 1.5), ("children_visited", -1), ("children_visited", True),
    ("budget", "lots"), ("budget", -0.5),
    ("all_safe", "yes"), ("all_safe", 1),
    ("main_risk", "地震"), ("risks", "溺水隐患"), ("risks", ["地震"]), ("risks", ["溺水隐患", "溺水隐患"]),
    ("checked_on", "2026-13-01"), ("checked_on", 20260701),
])
def test_every_question_type_is_checked_in_drafts_and_submissions(client, make_campaign, people, key, bad):
    task = make_campaign().tasks[VILLAGE]
    for action, method in (("draft", client.put), ("submit", client.post)):
        response = method(url(task, action), json={"answers": {**VALID, key: bad}}, headers=people["director"])
        assert response.status_code == 422, (action, response.get_json())
        body = response.get_json()
        assert response.content_type == "application/problem+json"
        assert list(body["errors"]) == [key]
    detail = client.get(url(task), headers=people["director"]).get_json()
    assert detail["status"] == "pending" and detail["answers"] == {} and detail["version"] == 1
    assert [s["kind"] for s in detail["timeline"]] == ["published"]


def test_valid_values_of_every_type_pass(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    response = client.post(url(task, "submit"), json={"answers": VALID}, headers=people["director"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["answers"] == VALID


def test_a_draft_may_be_partial_but_a_submission_may_not(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    director = people["director"]
    response = client.put(url(task, "draft"), json={"answers": {"summary": "进行中", "budget": None}},
                          headers=director)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "draft" and body["answers"] == {"summary": "进行中"} and body["version"] == 2
    # Submitting the saved draft: every required question that is missing is named, and nothing changes.
    response = client.post(url(task, "submit"), json={}, headers=director)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"children_visited", "all_safe", "checked_on"}
    # Unknown keys are refused too.
    response = client.put(url(task, "draft"), json={"answers": {"nonsense": 1}}, headers=director)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["nonsense"]
    detail = client.get(url(task), headers=director).get_json()
    assert detail["status"] == "draft" and detail["answers"] == {"summary": "进行中"} and detail["version"] == 2
    assert [s["kind"] for s in detail["timeline"]] == ["published", "draft_saved"]


def test_draft_submit_return_resubmit_approve_with_the_timeline(client, make_campaign, people):
    made = make_campaign()
    task = made.tasks[VILLAGE]
    director, supervisor = people["director"], people["supervisor"]
    t0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    with clock.frozen(t0):
        assert client.put(url(task, "draft"), json={"answers": {"summary": "初稿"}},
                          headers=director).status_code == 200
    with clock.frozen(t0 + timedelta(hours=1)):
        body = client.post(url(task, "submit"), json={"answers": VALID, "version": 2}, headers=director).get_json()
    assert body["status"] == "submitted" and body["submitted_at"].startswith("2026-06-01T03:00")
    assert body["can_edit"] is False
    assert client.get(url(task), headers=supervisor).get_json()["can_review"] is True
    # Submitted: the village can no longer change it.
    assert client.put(url(task, "draft"), json={"answers": VALID}, headers=director).status_code == 409
    with clock.frozen(t0 + timedelta(hours=2)):
        response = client.post(url(task, "return"), json={"reason": "  走访儿童数与台账不符  "}, headers=supervisor)
    assert response.status_code == 200, response.get_json()
    body = client.get(url(task), headers=director).get_json()
    assert body["status"] == "returned" and body["return_reason"] == "走访儿童数与台账不符"
    assert body["can_edit"] is True and body["answers"] == VALID
    # A draft of a returned task keeps the reason visible; resubmitting clears it.
    body = client.put(url(task, "draft"), json={"answers": {**VALID, "children_visited": 13}},
                      headers=director).get_json()
    assert body["status"] == "draft" and body["return_reason"] == "走访儿童数与台账不符"
    body = client.post(url(task, "submit"), json={}, headers=director).get_json()
    assert body["status"] == "submitted" and body["return_reason"] == "" and body["answers"]["children_visited"] == 13
    body = client.post(url(task, "approve"), json={}, headers=supervisor).get_json()
    assert body["status"] == "approved" and body["reviewed_at"]
    # Approved is final for everyone.
    assert client.put(url(task, "draft"), json={"answers": VALID}, headers=director).status_code == 409
    assert client.post(url(task, "submit"), json={}, headers=director).status_code == 409
    assert client.post(url(task, "return"), json={"reason": "再改"}, headers=supervisor).status_code == 409
    assert client.post(url(task, "approve"), json={}, headers=supervisor).status_code == 409

    timeline = client.get(url(task), headers=director).get_json()["timeline"]
    assert [(s["kind"], s["actor_name"], s["unit_code"]) for s in timeline] == [
        ("published", "广东省", "44"), ("draft_saved", "王主任", VILLAGE), ("submitted", "王主任", VILLAGE),
        ("returned", "张督导", TOWNSHIP), ("draft_saved", "王主任", VILLAGE), ("submitted", "王主任", VILLAGE),
        ("approved", "张督导", TOWNSHIP)]
    assert timeline[1]["at"].startswith("2026-06-01T02:00") and timeline[3]["at"].startswith("2026-06-01T04:00")
    assert timeline[3]["note"] == "走访儿童数与台账不符"
    assert timeline[3]["unit_name"] and timeline[1]["unit_name"]


def test_who_may_answer_and_review(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    body = {"answers": VALID}
    # Seeing the task is not enough to answer it.
    for who in ("viewer", "supervisor", "county"):
        assert client.put(url(task, "draft"), json=body, headers=people[who]).status_code == 403, who
        assert client.post(url(task, "submit"), json=body, headers=people[who]).status_code == 403, who
    # A sibling village and another township do not even see it.
    assert client.put(url(task, "draft"), json=body, headers=people["sibling"]).status_code == 404
    assert client.post(url(task, "submit"), json=body, headers=people["other_supervisor"]).status_code == 404
    assert client.post(url(task, "submit"), json=body, headers=people["director"]).status_code == 200
    # Only the reviewing unit's staff reviews.
    for who in ("director", "county", "viewer"):
        assert client.post(url(task, "approve"), json={}, headers=people[who]).status_code == 403, who
        assert client.post(url(task, "return"), json={"reason": "x"}, headers=people[who]).status_code == 403, who
    assert client.post(url(task, "approve"), json={}, headers=people["other_supervisor"]).status_code == 404
    assert client.post(url(task, "approve"), json={}, headers=people["sibling"]).status_code == 404
    assert client.get(url(task), headers=people["director"]).get_json()["status"] == "submitted"


def test_a_return_needs_a_short_reason(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    client.post(url(task, "submit"), json={"answers": VALID}, headers=people["director"])
    for reason in ("", "   ", "字" * 501):
        response = client.post(url(task, "return"), json={"reason": reason}, headers=people["supervisor"])
        assert response.status_code == 422 and list(response.get_json()["errors"]) == ["reason"]
    response = client.post(url(task, "return"), json={}, headers=people["supervisor"])
    assert response.status_code == 422 and "reason" in response.get_json()["errors"]
    response = client.post(url(task, "return"), json={"reason": "字" * 500}, headers=people["supervisor"])
    assert response.status_code == 200


def test_only_a_submitted_task_is_reviewed(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    assert client.post(url(task, "approve"), json={}, headers=people["supervisor"]).status_code == 409
    assert client.post(url(task, "return"), json={"reason": "x"}, headers=people["supervisor"]).status_code == 409


def test_a_stale_version_is_a_conflict(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    director = people["director"]
    assert client.put(url(task, "draft"), json={"answers": {"summary": "甲"}, "version": 1},
                      headers=director).status_code == 200
    response = client.put(url(task, "draft"), json={"answers": {"summary": "乙"}, "version": 1}, headers=director)
    assert response.status_code == 409 and response.get_json()["current_version"] == 2
    assert client.post(url(task, "submit"), json={"answers": VALID, "version": 1}, headers=director).status_code == 409
    assert client.get(url(task), headers=director).get_json()["answers"] == {"summary": "甲"}
    assert client.post(url(task, "submit"), json={"answers": VALID, "version": 2}, headers=director).status_code == 200
    assert client.post(url(task, "approve"), json={"version": 2}, headers=people["supervisor"]).status_code == 409
    assert client.post(url(task, "approve"), json={"version": 3}, headers=people["supervisor"]).status_code == 200


def test_a_concurrent_write_is_a_conflict_not_a_lost_update(app, make_campaign, people):
    """The task was read, then another writer moved its version: the write is refused (StaleDataError -> 409)
    instead of overwriting the other writer's answers."""
    from sqlalchemy import text

    from hierarchy.scope import Scope, scoped
    from tenant_app.db import db
    from tenant_app.errors import Conflict
    from tenant_app.tasks import access, services

    task = make_campaign().tasks[VILLAGE]
    with scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        try:
            loaded, _ = access.get_task(session, task)
            assert loaded.version == 1
            session.execute(text("UPDATE tasks SET version = version + 1, answers = '{\"summary\": \"他人\"}' "
                                 "WHERE id = :id"), {"id": task})
            with pytest.raises(Conflict):
                services.save_draft(session, people["director_user"], task, {"summary": "我的"})
        finally:
            session.close()


def test_a_closed_campaign_is_read_only(client, make_campaign, close_campaign, people):
    made = make_campaign()
    task = made.tasks[VILLAGE]
    client.post(url(made.tasks[SIBLING], "submit"), json={"answers": VALID}, headers=people["sibling"])
    close_campaign(made.id)
    response = client.put(url(task, "draft"), json={"answers": VALID}, headers=people["director"])
    assert response.status_code == 409 and "closed" in response.get_json()["detail"]
    assert client.post(url(task, "submit"), json={"answers": VALID}, headers=people["director"]).status_code == 409
    assert client.post(url(made.tasks[SIBLING], "approve"), json={},
                       headers=people["supervisor"]).status_code == 409
    # Still listed, read-only.
    items = client.get("/api/v1/tasks", headers=people["director"]).get_json()["items"]
    assert [(i["id"], i["campaign_status"]) for i in items] == [(task, "closed")]
    assert client.get(url(task), headers=people["director"]).get_json()["can_edit"] is False


def test_the_list_filters_and_orders_open_and_overdue_first(client, make_campaign, people):
    today = clock.today_cst()
    late = make_campaign(title="已逾期", due_on=today - timedelta(days=2))
    soon = make_campaign(title="快到期", due_on=today + timedelta(days=1))
    later = make_campaign(title="下月", due_on=today + timedelta(days=30))
    done = make_campaign(title="已完成", due_on=today - timedelta(days=5))
    director = people["director"]
    client.post(url(done.tasks[VILLAGE], "submit"), json={"answers": VALID}, headers=director)
    client.put(url(later.tasks[VILLAGE], "draft"), json={"answers": {"summary": "x"}}, headers=director)

    body = client.get("/api/v1/tasks", headers=director).get_json()
    assert [i["campaign_title"] for i in body["items"]] == ["已逾期", "快到期", "下月", "已完成"]
    assert body["total"] == 4
    assert [i["overdue"] for i in body["items"]] == [True, False, False, False]
    assert {i["unit_code"] for i in body["items"]} == {VILLAGE}
    assert body["items"][0]["campaign_kind"] == "questionnaire"

    def titles(query):
        return [i["campaign_title"] for i in client.get(f"/api/v1/tasks?{query}", headers=director)
                .get_json()["items"]]

    assert titles("overdue=1") == ["已逾期"]
    assert titles("overdue=0") == ["快到期", "下月", "已完成"]
    assert titles("open=1") == ["已逾期", "快到期", "下月"]
    assert titles("status=draft") == ["下月"]
    assert titles("status=submitted") == ["已完成"]
    assert titles(f"campaign={soon.id}") == ["快到期"]
    page2 = client.get("/api/v1/tasks?per_page=3&page=2", headers=director).get_json()
    assert [i["campaign_title"] for i in page2["items"]] == ["已完成"] and page2["total"] == 4
    page3 = client.get("/api/v1/tasks?per_page=3&page=3", headers=director).get_json()
    assert page3["items"] == [] and page3["total"] == 4
    assert client.get("/api/v1/tasks?status=bogus", headers=director).status_code == 422
    assert late.id != done.id
    # A draft campaign has no tasks (they are made when it is published); even if one had, it never shows.
    draft = make_campaign(title="未发布", status="draft")
    assert "未发布" not in titles("per_page=100")
    assert client.get(url(draft.tasks[VILLAGE]), headers=director).status_code == 404


def test_overdue_once_the_due_date_has_ended_in_china(client, make_campaign, people):
    due = datetime(2026, 7, 10).date()
    task = make_campaign(due_on=due).tasks[VILLAGE]
    director = people["director"]

    def state():
        body = client.get("/api/v1/tasks?overdue=1", headers=director).get_json()
        detail = client.get(url(task), headers=director).get_json()
        assert [i["id"] for i in body["items"]] == ([task] if detail["overdue"] else [])
        return detail["overdue"]

    # 23:59 on the due date in Beijing is 15:59 UTC: still on time; one minute later it is overdue.
    with clock.frozen(datetime(2026, 7, 10, 15, 59, tzinfo=UTC)):
        assert state() is False
    with clock.frozen(datetime(2026, 7, 10, 16, 0, tzinfo=UTC)):
        assert state() is True
        client.put(url(task, "draft"), json={"answers": {"summary": "补"}}, headers=director)
        assert state() is True  # a draft is still open work
        client.post(url(task, "submit"), json={"answers": VALID}, headers=director)
        assert state() is False  # submitted late, but no longer overdue
        client.post(url(task, "return"), json={"reason": "补充"}, headers=people["supervisor"])
        assert state() is True  # returned: open again, and past due


def test_the_review_queue_is_the_reviewers_submitted_tasks(client, make_campaign, people):
    made = make_campaign(villages=(VILLAGE, SIBLING, THIRD, "440203002001"))
    for code, who in ((VILLAGE, "director"), (SIBLING, "sibling")):
        assert client.post(url(made.tasks[code], "submit"), json={"answers": VALID},
                           headers=people[who]).status_code == 200
    body = client.get("/api/v1/tasks?review=1", headers=people["supervisor"]).get_json()
    assert sorted(i["unit_code"] for i in body["items"]) == [VILLAGE, SIBLING] and body["total"] == 2
    assert all(i["unit_name"] for i in body["items"])
    assert client.get("/api/v1/tasks?review=1", headers=people["other_supervisor"]).get_json()["total"] == 0
    # The county sees the tasks but reviews none of them.
    assert client.get("/api/v1/tasks?review=1", headers=people["county"]).get_json()["total"] == 0
    client.post(url(made.tasks[VILLAGE], "approve"), json={}, headers=people["supervisor"])
    body = client.get("/api/v1/tasks?review=1", headers=people["supervisor"]).get_json()
    assert [i["unit_code"] for i in body["items"]] == [SIBLING]
    body = client.get("/api/v1/tasks?review=1&status=approved", headers=people["supervisor"]).get_json()
    assert [i["unit_code"] for i in body["items"]] == [VILLAGE]
    # A village's own list is its own tasks only.
    assert client.get("/api/v1/tasks?review=1", headers=people["director"]).get_json()["total"] == 0


def test_the_task_shows_its_campaign_notes_and_attachments(client, make_campaign, people):
    made = make_campaign(notes={"440203": "县里要求：7月10日前完成。", TOWNSHIP: "街道督导将抽查", "4402": "",
                                "440203002": "别的街道的说明"},
                         attachments=[("方案.pdf", b"%PDF-1.4 test")])
    body = client.get(url(made.tasks[VILLAGE]), headers=people["director"]).get_json()
    assert body["campaign"]["title"] == "寒暑假重点时段排查"
    assert body["campaign"]["issuer_name"] == "广东省" and body["campaign"]["questions"] == QUESTIONS
    assert body["campaign"]["directive"]
    assert [(n["unit_code"], n["note"]) for n in body["notes"]] == [
        ("440203", "县里要求：7月10日前完成。"), (TOWNSHIP, "街道督导将抽查")]
    assert [a["filename"] for a in body["attachments"]] == ["方案.pdf"]
    assert "content" not in body["attachments"][0]
    assert body["timeline"][0]["kind"] == "published" and body["timeline"][0]["unit_code"] == "44"
    assert body["census"] is None


def test_prefer_return_minimal_answers_a_save_with_its_status_and_version_only(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    director = {**people["director"], "Prefer": "return=minimal"}
    t0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    with clock.frozen(t0):
        response = client.put(url(task, "draft"), json={"answers": {"summary": "初稿"}, "version": 1},
                              headers=director)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Preference-Applied"] == "return=minimal"
    body = response.get_json()
    assert set(body) == {"id", "status", "version", "saved_at"}
    assert (body["id"], body["status"], body["version"]) == (task, "draft", 2)
    assert body["saved_at"].startswith("2026-06-01T")
    # The save is whole: the detail shows the answers and the timeline's step.
    detail = client.get(url(task), headers=people["director"]).get_json()
    assert detail["answers"] == {"summary": "初稿"} and detail["version"] == 2
    assert [s["kind"] for s in detail["timeline"]] == ["published", "draft_saved"]
    # Refusals are the same as without the preference.
    stale = client.put(url(task, "draft"), json={"answers": {"summary": "乙"}, "version": 1}, headers=director)
    assert stale.status_code == 409 and "Preference-Applied" not in stale.headers
    body = client.post(url(task, "submit"), json={"answers": VALID, "version": 2},
                       headers={**director, "Prefer": "respond-async, return=minimal"}).get_json()
    assert set(body) == {"id", "status", "version", "saved_at"} and body["status"] == "submitted"
    # Without the preference (or with another), the whole task as before.
    body = client.post(url(task, "approve"), json={}, headers=people["supervisor"]).get_json()
    assert body["status"] == "approved" and "timeline" in body


def test_a_save_without_a_minimal_preference_answers_the_whole_task(client, make_campaign, people):
    task = make_campaign().tasks[VILLAGE]
    response = client.put(url(task, "draft"), json={"answers": {"summary": "初稿"}},
                          headers={**people["director"], "Prefer": "return=representation"})
    body = response.get_json()
    assert response.status_code == 200 and "Preference-Applied" not in response.headers
    assert body["answers"] == {"summary": "初稿"} and [s["kind"] for s in body["timeline"]] == [
        "published", "draft_saved"]
