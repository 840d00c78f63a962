"""Census tasks (摸底排查): the village's records confirmed one by one, the counts (confirmed, added, exited),
submission only when every active record is confirmed, the count answers filled from the confirmation."""

from __future__ import annotations

from hierarchy.models import utcnow
from tests import tasks_factories
from tests.tasks_factories import SIBLING, VILLAGE
from tests.test_children_api import child_payload, make_id

# The shared fixtures, under their own names for pytest.
close_campaign = tasks_factories.close_campaign
make_campaign = tasks_factories.make_campaign
people = tasks_factories.people


def create_child(client, headers, seq: str, **overrides) -> dict:
    response = client.post("/api/v1/children", json=child_payload(id_number=make_id(seq=seq), **overrides),
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def exit_child(client, headers, child: dict) -> None:
    response = client.patch(f"/api/v1/children/{child['id']}", headers=headers,
                            json={"version": child["version"], "status": "exited", "exit_reason": "parents_returned"})
    assert response.status_code == 200, response.get_json()


def census(client, headers, task_id, query=""):
    response = client.get(f"/api/v1/tasks/{task_id}/census{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_census_confirmation_counts_and_submission(client, make_campaign, people):
    director = people["director"]
    # Two records from before the campaign, one of which exits during it; one record added during it.
    before = [create_child(client, director, "013", name="甲"), create_child(client, director, "015", name="乙"),
              create_child(client, director, "017", name="丙")]
    # An exit before publication is not listed.
    exit_child(client, director, before[2])
    # Child records are stamped with the wall clock, so the publication is too.
    made = make_campaign(kind="census", published_at=utcnow())
    task = made.tasks[VILLAGE]
    added = create_child(client, director, "019", name="丁")
    exit_child(client, director, client.get(f"/api/v1/children/{before[1]['id']}", headers=director).get_json())

    body = census(client, director, task)
    assert [(i["name"], i["status"], i["confirmed"]) for i in body["items"]] == [
        ("丁", "active", False), ("甲", "active", False), ("乙", "exited", False)]
    assert body["items"][1]["id_number"] == before[0]["id_number"][:6] + "********" + before[0]["id_number"][-4:]
    assert body["counts"] == {"confirmed": 0, "added": 1, "exited": 1, "total_active": 2, "unconfirmed": 2,
                              "unchanged_unconfirmed": 1, "editable": True}

    # Submitting before every active record is confirmed: refused, nothing written.
    response = client.post(f"/api/v1/tasks/{task}/submit", json={"answers": {}}, headers=director)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"census": ["还有 2 名儿童未确认 / 2 children not yet confirmed"]}

    response = client.post(f"/api/v1/tasks/{task}/census/{before[0]['id']}", headers=director)
    assert response.status_code == 200 and response.get_json()["counts"]["confirmed"] == 1
    # The first confirmation starts the task.
    detail = client.get(f"/api/v1/tasks/{task}", headers=director).get_json()
    assert detail["status"] == "draft" and [s["kind"] for s in detail["timeline"]] == ["published", "draft_saved"]
    # Confirming twice changes nothing; an exited record needs no confirmation.
    assert client.post(f"/api/v1/tasks/{task}/census/{before[0]['id']}", headers=director).get_json()[
        "counts"]["confirmed"] == 1
    assert client.post(f"/api/v1/tasks/{task}/census/{before[1]['id']}", headers=director).status_code == 409
    assert client.post(f"/api/v1/tasks/{task}/census/{added['id']}", headers=director).status_code == 200
    # Un-confirm and confirm again.
    response = client.delete(f"/api/v1/tasks/{task}/census/{added['id']}", headers=director)
    assert response.status_code == 200 and response.get_json()["counts"]["unconfirmed"] == 1
    assert [i["name"] for i in census(client, director, task, "?confirmed=0")["items"]] == ["丁", "乙"]
    client.post(f"/api/v1/tasks/{task}/census/{added['id']}", headers=director)
    assert [i["name"] for i in census(client, director, task, "?confirmed=1")["items"]] == ["丁", "甲"]
    assert [i["name"] for i in census(client, director, task, "?q=丁")["items"]] == ["丁"]

    # The counts fill the count questions left blank; a given answer is kept.
    response = client.post(f"/api/v1/tasks/{task}/submit", json={"answers": {"children_added": 1}},
                           headers=director)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["answers"] == {"children_rechecked": 2, "children_added": 1, "children_exited": 1}
    assert body["census"]["confirmed"] == 2
    # Submitted: confirmations are frozen.
    assert client.delete(f"/api/v1/tasks/{task}/census/{added['id']}", headers=director).status_code == 409
    assert census(client, director, task)["counts"]["editable"] is False


def test_census_confirmation_is_for_the_villages_staff_and_its_own_children(client, make_campaign, people):
    mine = create_child(client, people["director"], "013")
    theirs = create_child(client, people["sibling"], "015", name="邻村儿童")
    made = make_campaign(kind="census")
    task = made.tasks[VILLAGE]
    # Another village's child is not in this task.
    assert client.post(f"/api/v1/tasks/{task}/census/{theirs['id']}", headers=people["director"]).status_code == 404
    # The supervisor reads the list but does not confirm; the sibling village sees nothing.
    assert [i["id"] for i in census(client, people["supervisor"], task)["items"]] == [mine["id"]]
    assert client.post(f"/api/v1/tasks/{task}/census/{mine['id']}", headers=people["supervisor"]).status_code == 403
    assert client.post(f"/api/v1/tasks/{task}/census/{mine['id']}", headers=people["viewer"]).status_code == 403
    assert client.get(f"/api/v1/tasks/{task}/census", headers=people["sibling"]).status_code == 404
    assert client.post(f"/api/v1/tasks/{task}/census/{mine['id']}", headers=people["sibling"]).status_code == 404
    # A questionnaire has no census.
    other = make_campaign().tasks[VILLAGE]
    assert client.get(f"/api/v1/tasks/{other}/census", headers=people["director"]).status_code == 409


def test_census_confirmation_stops_when_the_campaign_closes(client, make_campaign, close_campaign, people):
    child = create_child(client, people["director"], "013")
    made = make_campaign(kind="census")
    close_campaign(made.id)
    response = client.post(f"/api/v1/tasks/{made.tasks[VILLAGE]}/census/{child['id']}", headers=people["director"])
    assert response.status_code == 409
    assert census(client, people["director"], made.tasks[VILLAGE])["counts"]["confirmed"] == 0
    assert SIBLING in made.tasks
