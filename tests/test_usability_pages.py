"""What users expected and did not find: search by full ID number (still masked), choice lists on the record
form, opening a village's answer from the progress table, confirming all unchanged children of a census at
once, printable child file (audited) and task answer, a campaign's reminder history, the unit tree picker's
JSON and its fields, and the transfer pages."""

from __future__ import annotations

import re

from tenant_app import clock
from tests import tasks_factories
from tests.tasks_factories import SIBLING, THIRD, TOWNSHIP, VILLAGE
from tests.test_children_api import child_payload, make_id

make_campaign = tasks_factories.make_campaign
people = tasks_factories.people


def text_of(response) -> str:
    return response.get_data(as_text=True)


def create_child(client, headers, seq: str, **overrides) -> dict:
    response = client.post("/api/v1/children", json=child_payload(id_number=make_id(seq=seq), **overrides),
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_search_by_full_id_number_matches_exactly_and_stays_masked(client, people, login):
    director = people["director"]
    wanted = create_child(client, director, "013", name="甲")
    create_child(client, director, "015", name="乙")
    number = wanted["id_number"]
    body = client.get(f"/api/v1/children?q={number.lower() if number[-1] == 'X' else number}",
                      headers=director).get_json()
    assert body["total"] == 1 and body["items"][0]["name"] == "甲"
    assert body["items"][0]["id_number"] != number and body["items"][0]["id_number"].startswith(number[:6] + "*")
    # A part of the number is not an ID search (names only): no match.
    assert client.get(f"/api/v1/children?q={number[:12]}", headers=director).get_json()["total"] == 0
    # The county above finds it too; the sibling village does not.
    assert client.get(f"/api/v1/children?q={number}", headers=people["county"]).get_json()["total"] == 1
    assert client.get(f"/api/v1/children?q={number}", headers=people["sibling"]).get_json()["total"] == 0
    login(client, people["director_user"].username)
    listing = text_of(client.get(f"/children?q={number}")).split('id="children"')[1].split("</table>")[0]
    assert "甲" in listing and "乙" not in listing
    assert number not in listing and number[:6] + "********" + number[-4:] in listing


def test_record_form_offers_ethnicity_and_disability_type_lists(client, people, login):
    login(client, people["director_user"].username)
    page = text_of(client.get("/children/new"))
    ethnicity = re.search(r'<select id="ethnicity".*?</select>', page, re.S).group(0)
    assert ethnicity.count("<option") == 57 and 'value="汉族" selected' in ethnicity and "其他" in ethnicity
    disability = re.search(r'<select id="disability_type".*?</select>', page, re.S).group(0)
    assert disability.count("<option") == 8 and 'value="肢体残疾"' in disability
    assert "child_form.js" in page and "<script>" not in page
    assert "Zhuang" in text_of(client.get("/children/new?lang=en"))
    # A value stored before the list existed stays selectable (and is kept on save).
    old = create_child(client, people["director"], "017", ethnicity="汉")
    edit = text_of(client.get(f"/children/{old['id']}/edit?lang=zh"))
    assert '<option value="汉" selected>' in edit


def test_progress_rows_open_the_villages_answer_read_only(client, make_campaign, people, login):
    made = make_campaign(villages=[VILLAGE, SIBLING, THIRD])
    login(client, people["supervisor_user"].username)
    page = text_of(client.get(f"/campaigns/{made.id}/track?unit={TOWNSHIP}"))
    for code, task_id in made.tasks.items():
        assert f'href="/tasks/{task_id}"' in page, code
    answer = text_of(client.get(f"/tasks/{made.tasks[VILLAGE]}"))
    assert 'name="action" value="submit"' not in answer and 'id="print-task"' in answer


def test_confirm_all_unchanged_children_at_once(client, make_campaign, people, login):
    from hierarchy.models import utcnow

    director = people["director"]
    for seq in ("013", "015", "017"):
        create_child(client, director, seq)
    made = make_campaign(kind="census", published_at=utcnow())
    task = made.tasks[VILLAGE]
    added = create_child(client, director, "019", name="新来的")  # added during the census: confirmed by hand
    login(client, people["director_user"].username)
    page = text_of(client.get(f"/tasks/{task}/census"))
    assert re.search(r'id="unchanged-count">3<', page)
    response = client.post(f"/tasks/{task}/census/confirm-unchanged")
    assert response.status_code == 302
    after = text_of(client.get(response.headers["Location"]))
    assert "已一次确认 3 名未变更的儿童" in after and 'id="confirm-unchanged"' not in after
    counts = client.get(f"/api/v1/tasks/{task}/census", headers=director).get_json()["counts"]
    assert (counts["confirmed"], counts["unconfirmed"], counts["unchanged_unconfirmed"]) == (3, 1, 0)
    again = client.post(f"/api/v1/tasks/{task}/census/confirm-unchanged", headers=director)
    assert again.status_code == 200 and again.get_json()["confirmed_now"] == 0
    assert client.get(f"/api/v1/tasks/{task}", headers=director).get_json()["status"] == "draft"
    # Only the village's own staff; the supervisor reads but does not confirm.
    assert client.post(f"/api/v1/tasks/{task}/census/confirm-unchanged",
                       headers=people["supervisor"]).status_code == 403
    assert added["name"] == "新来的"


def test_printable_child_file_is_audited_and_task_answer_prints(client, make_campaign, people, login, scoped_sql):
    child = create_child(client, people["director"], "013", name="打印甲")
    visit = client.post(f"/api/v1/children/{child['id']}/visits", headers=people["director"],
                        json={"visited_on": clock.today_cst().isoformat(), "met": ["guardian"],
                              "findings": "家中安全"})
    assert visit.status_code == 201, visit.get_json()
    made = make_campaign()
    login(client, people["county_user"].username)
    before = scoped_sql(VILLAGE, "SELECT count(*) FROM audit_events WHERE purpose LIKE '打印档案%'")[0][0]
    page = text_of(client.get(f"/children/{child['id']}/print"))
    assert "打印甲" in page and child["id_number"] in page and "家中安全" in page and 'id="print-history"' in page
    assert "print.css" in page and "print.js" in page and "<script>" not in page and "style=" not in page
    after = scoped_sql(VILLAGE, "SELECT count(*) FROM audit_events WHERE purpose LIKE '打印档案%'")[0][0]
    assert after == before + 1
    assert f'href="/children/{child["id"]}/print"' in text_of(client.get(f"/children/{child['id']}"))
    task_page = text_of(client.get(f"/tasks/{made.tasks[VILLAGE]}/print"))
    assert "寒暑假重点时段排查" in task_page and 'id="print-answers"' in task_page
    login(client, people["sibling_user"].username)
    assert client.get(f"/children/{child['id']}/print").status_code == 404


def test_reminder_history_on_the_campaign_page_and_api(client, make_campaign, people, login):
    made = make_campaign(villages=[VILLAGE, SIBLING, THIRD])
    county = people["county"]
    url = f"/api/v1/campaigns/{made.id}/remind"
    assert client.post(url, json={"units": [VILLAGE], "message": "第一次催办"}, headers=county).status_code == 201
    assert client.post(url, json={"units": [TOWNSHIP], "subtree": True}, headers=county).status_code == 201
    history = client.get(f"/api/v1/campaigns/{made.id}/reminders", headers=county).get_json()
    assert history["total"] == 2
    latest, first = history["items"]
    assert latest["units_count"] == 3 and {u["code"] for u in latest["units"]} == {VILLAGE, SIBLING, THIRD}
    assert (first["message"], first["units_count"], first["sender_name"]) == ("第一次催办", 1, "县民政")
    assert first["sender_code"] == "440203" and first["units"][0]["code"] == VILLAGE
    # The sibling village sees only the reminder that reached it.
    assert client.get(f"/api/v1/campaigns/{made.id}/reminders", headers=people["sibling"]).get_json()["total"] == 1
    login(client, people["county_user"].username)
    page = text_of(client.get(f"/campaigns/{made.id}"))
    section = page.split('id="reminders-section"')[1]
    assert section.count('class="reminder-row"') == 2 and "第一次催办" in section and "县民政" in section
    assert client.get(f"/campaigns/{made.id}/reminders").status_code == 200


def test_unit_picker_lists_the_subtree_level_by_level(client, people, make_user, login):
    login(client, people["county_user"].username)
    root = client.get("/picker/units").get_json()["items"]
    assert [u["code"] for u in root] == ["440203"] and root[0]["has_children"] is True
    townships = client.get("/picker/units?parent=440203").get_json()["items"]
    assert TOWNSHIP in {u["code"] for u in townships} and all(len(u["code"]) == 9 for u in townships)
    villages = client.get(f"/picker/units?parent={TOWNSHIP}").get_json()["items"]
    assert VILLAGE in {u["code"] for u in villages} and not any(u["has_children"] for u in villages)
    assert client.get("/picker/units?parent=440204").status_code == 404
    assert client.get("/picker/units?parent=44").status_code == 404
    assert 'data-unit-picker="/picker/units"' in text_of(client.get("/children"))
    # A village choosing a transfer's receiving village sees its own province's villages.
    login(client, people["director_user"].username)
    assert client.get(f"/picker/units?parent={TOWNSHIP}").status_code == 404
    near = client.get(f"/picker/units?parent={TOWNSHIP}&purpose=transfer").get_json()["items"]
    assert SIBLING in {u["code"] for u in near}
    assert client.get("/picker/units?parent=340604&purpose=transfer").status_code == 404
    admin = make_user("440203", "admin")
    login(client, admin.username)
    assert 'data-unit-picker="/picker/units"' in text_of(client.get("/users/new"))


def test_transfer_pages_request_and_accept(client, people, login):
    child = create_child(client, people["director"], "013", name="迁移甲")
    login(client, people["director_user"].username)
    form = text_of(client.get(f"/children/{child['id']}/transfer"))
    assert 'data-unit-picker="/picker/units?purpose=transfer"' in form
    bad = client.post(f"/children/{child['id']}/transfer", data={"to_village": "4402030010"})
    assert bad.status_code == 422 and 'id="to_village-errors"' in text_of(bad)
    ok = client.post(f"/children/{child['id']}/transfer", data={"to_village": SIBLING, "reason": "随祖父母"})
    assert ok.status_code == 302
    assert "迁移甲" in text_of(client.get("/transfers")).split('id="outgoing-transfers"')[1]
    login(client, people["sibling_user"].username)
    incoming = text_of(client.get("/transfers"))
    transfer_id = re.search(r'data-transfer="(\d+)"', incoming).group(1)
    assert client.post(f"/transfers/{transfer_id}/accept").status_code == 302
    assert client.get(f"/children/{child['id']}").status_code == 200  # the record moved to the sibling village
