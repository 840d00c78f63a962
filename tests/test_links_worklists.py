"""Worklists of the horizontal links on real PostgreSQL: computed from the departments' current rolls and the
records, written back through the records' history, turned into verification tasks that reach exactly the
villages concerned, answered item by item through the records' history, counted in the roll-up (against a
brute-force recount) and confined to the subtree in both locks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from hierarchy.scope import Scope, apply_db_scope, scoped
from sync import rollup
from sync.link_figures import OUTCOMES
from tenant_app import clock
from tests import cases_factories, links_factories
from tests.cases_factories import OTHER_COUNTY, OTHER_COUNTY_VILLAGE, SIBLING_VILLAGE, TOWNSHIP, VILLAGE
from tests.links_factories import csv_file
from tests.test_children_api import child_payload, make_id

person = cases_factories.person
department = links_factories.department
upload = links_factories.upload
confirmed = links_factories.confirmed
COUNTY = "440203"
OTHER_TOWN_VILLAGE = "440203100206"
IDS = {key: make_id(birth=birth, seq=seq) for key, birth, seq in (
    ("a", "20160301", "013"), ("b", "20160401", "023"), ("c", "20160501", "033"), ("d", "20220301", "043"),
    ("f", "20150601", "053"), ("x", "20170701", "063"), ("o", "20160301", "073"))}
FATHER, MOTHER = make_id(birth="19880101", seq="011"), make_id(birth="19900101", seq="022")


def _child(client, person, village, key, name, **overrides):
    response = client.post("/api/v1/children", headers=person(village)[1],
                           json=child_payload(name=name, id_number=IDS[key], birth_date=(
                               f"{IDS[key][6:10]}-{IDS[key][10:12]}-{IDS[key][12:14]}"), **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def world(client, person, department, confirmed):
    """Records in three villages of the county (and one of another county), the county's school roll and
    household register confirmed and matched (inline), the worklists computed at the end of each run."""
    kids = {"a": _child(client, person, VILLAGE, "a", "李小明"),
            "b": _child(client, person, VILLAGE, "b", "王小红"),
            "c": _child(client, person, SIBLING_VILLAGE, "c", "赵小刚"),
            "d": _child(client, person, OTHER_TOWN_VILLAGE, "d", "钱小宝", schooling="kindergarten"),
            "f": _child(client, person, OTHER_TOWN_VILLAGE, "f", "孙小龙"),
            "o": _child(client, person, OTHER_COUNTY_VILLAGE, "o", "周小舟")}
    _, edu = department(COUNTY)
    confirmed(edu, "school", csv_file("school", [
        f"G{IDS['a']},李小明,男,,,第一小学,四年级,在校",
        f"G{IDS['c']},赵小刚,男,,,第二小学,四年级,辍学"]))
    _, police = department(COUNTY, "public_security")
    confirmed(police, "household", csv_file("household", [
        f"{IDS['a']},李晓明,男,,{VILLAGE},李大,{FATHER},{MOTHER},是,否",
        f"{IDS['x']},吴小丽,男,,{VILLAGE},吴大,{FATHER},{MOTHER},是,是"]))
    return kids


@pytest.fixture
def jobs(db_connection):
    with scoped(Scope(all_tenants=True)):
        apply_db_scope(db_connection, Scope(all_tenants=True))
        yield db_connection


def test_worklists_list_the_discrepancies_of_each_village(client, person, world, scoped_sql):
    county = client.get(f"/api/v1/worklists?unit={COUNTY}", headers=person(COUNTY)[1]).get_json()
    rows = {r["code"]: r["counts"] for r in county["rows"]}
    assert set(rows) == {VILLAGE, SIBLING_VILLAGE, OTHER_TOWN_VILLAGE}
    # Suspected dropouts: b (not on the roll), c (dropped out), f (not on the roll); a is enrolled, d is 4.
    assert [rows[v]["dropout"] for v in (VILLAGE, SIBLING_VILLAGE, OTHER_TOWN_VILLAGE)] == [1, 1, 1]
    assert rows[VILLAGE]["unregistered"] == 1 and rows[VILLAGE]["mismatch"] == 1
    assert county["totals"]["no_hukou"] == 4  # every record but a is on no household row
    village = client.get(f"/api/v1/worklists/{VILLAGE}/items?list_kind=dropout", headers=person(VILLAGE)[1])
    assert village.status_code == 200
    [item] = village.get_json()["items"]
    assert item["child_id"] == world["b"]["id"] and item["reasons"] == ["not_on_roll"]
    assert "*" in item["id_number"]
    sibling = client.get(f"/api/v1/worklists/{SIBLING_VILLAGE}/items?list_kind=dropout",
                         headers=person(SIBLING_VILLAGE)[1]).get_json()
    assert sibling["items"][0]["reasons"] == ["dropped_out"]
    unregistered = client.get(f"/api/v1/worklists/{VILLAGE}/items?list_kind=unregistered",
                              headers=person(VILLAGE)[1]).get_json()["items"]
    assert [(i["name"], i["child_id"], i["reasons"]) for i in unregistered] == [("吴小丽", None, ["both_away"])]
    mismatch = client.get(f"/api/v1/worklists/{VILLAGE}/items?list_kind=mismatch",
                          headers=person(VILLAGE)[1]).get_json()["items"]
    assert [(i["name"], i["record_name"], i["reasons"]) for i in mismatch] == [("李晓明", "李小明", ["name"])]


def test_a_linked_school_row_is_written_to_the_record_through_its_history(client, person, world, scoped_sql):
    a = world["a"]["id"]
    assert scoped_sql(VILLAGE, f"SELECT school_name, version FROM children WHERE id = {a}") == [("第一小学", 2)]
    [(action, changes, version)] = scoped_sql(VILLAGE, f"SELECT action, changes::text, version FROM child_changes "
                                                       f"WHERE child_id = {a} AND action = 'link'")
    assert version == 2 and "第一小学" in changes
    history = client.get(f"/api/v1/children/{a}/history", headers=person(VILLAGE)[1]).get_json()
    assert [h["action"] for h in history] == ["create", "link"]


def _campaign(client, person, list_kind):
    response = client.post("/api/v1/worklists/campaigns", headers=person(COUNTY)[1],
                           json={"list_kind": list_kind, "due_on": (clock.today_cst() + timedelta(days=7)).isoformat()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_worklist_turned_into_tasks_reaches_exactly_the_villages_concerned(client, person, world, scoped_sql):
    made = _campaign(client, person, "dropout")
    assert made["task_count"] == 3 and made["items"] == 3
    cid = made["campaign_id"]
    tasks = scoped_sql(COUNTY, f"SELECT region_code FROM tasks WHERE campaign_id = {cid} ORDER BY region_code")
    assert [t[0] for t in tasks] == sorted([VILLAGE, SIBLING_VILLAGE, OTHER_TOWN_VILLAGE])
    receipts = scoped_sql(COUNTY, f"SELECT region_code FROM campaign_receipts WHERE campaign_id = {cid} "
                                  "ORDER BY region_code")
    assert [r[0] for r in receipts] == [TOWNSHIP, OTHER_TOWN_VILLAGE[:9]]
    # Each task lists its own village's items only; the items are in their task.
    for village in (VILLAGE, SIBLING_VILLAGE, OTHER_TOWN_VILLAGE):
        [(task_id,)] = scoped_sql(village, f"SELECT id FROM tasks WHERE campaign_id = {cid}")
        body = client.get(f"/api/v1/worklists/tasks/{task_id}/items", headers=person(village)[1]).get_json()
        assert body["total"] == 1 and {i["village_code"] for i in body["items"]} == {village}
        assert body["items"][0]["status"] == "in_task" and body["can_answer"]
    # Nothing left open on the list; a second campaign of the same list has nothing to send.
    again = client.post("/api/v1/worklists/campaigns", headers=person(COUNTY)[1],
                        json={"list_kind": "dropout", "due_on": clock.today_cst().isoformat()})
    assert again.status_code == 422 and "list_kind" in again.get_json()["errors"]
    # Only a county's staff issues; a village may not.
    refused = client.post("/api/v1/worklists/campaigns", headers=person(VILLAGE)[1],
                          json={"list_kind": "dropout", "due_on": clock.today_cst().isoformat()})
    assert refused.status_code == 403
    bad = client.post("/api/v1/worklists/campaigns", headers=person(COUNTY)[1],
                      json={"list_kind": "nope", "due_on": "2020-01-01"})
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    assert "list_kind" in bad.get_json()["errors"]


def _task_item(client, person, cid, village, scoped_sql):
    [(task_id,)] = scoped_sql(village, f"SELECT id FROM tasks WHERE campaign_id = {cid}")
    return task_id, client.get(f"/api/v1/worklists/tasks/{task_id}/items",
                               headers=person(village)[1]).get_json()["items"][0]


def _answer(client, person, village, item, **body):
    return client.post(f"/api/v1/worklists/items/{item['id']}/answer", headers=person(village)[1],
                       json={"version": item["version"], **body})


def test_answers_update_the_records_through_their_history(client, person, world, scoped_sql):
    cid = _campaign(client, person, "dropout")["campaign_id"]
    task_id, item = _task_item(client, person, cid, VILLAGE, scoped_sql)
    # Field errors, a stale version, another village: refused, nothing written.
    assert _answer(client, person, VILLAGE, item, answer="added").status_code == 422
    missing = _answer(client, person, VILLAGE, item, answer="corrected")
    assert missing.status_code == 422 and "schooling" in missing.get_json()["errors"]
    stale = client.post(f"/api/v1/worklists/items/{item['id']}/answer", headers=person(VILLAGE)[1],
                        json={"version": item["version"] + 5, "answer": "not_found"})
    assert stale.status_code == 409
    assert _answer(client, person, SIBLING_VILLAGE, item, answer="not_found").status_code in (403, 404)
    # Back in school: the record's schooling changes with a history entry.
    b = world["b"]["id"]
    before = scoped_sql(VILLAGE, f"SELECT version FROM children WHERE id = {b}")[0][0]
    done = _answer(client, person, VILLAGE, item, answer="corrected", schooling="junior")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["answer"] == "corrected" and done.get_json()["status"] == "answered"
    assert scoped_sql(VILLAGE, f"SELECT schooling, version FROM children WHERE id = {b}") == [("junior", before + 1)]
    [(changes,)] = scoped_sql(VILLAGE, f"SELECT changes::text FROM child_changes WHERE child_id = {b} "
                                       f"AND version = {before + 1}")
    assert "junior" in changes
    # The task may now be submitted (every item answered); another's with an item left may not.
    submitted = client.post(f"/api/v1/tasks/{task_id}/submit", headers=person(VILLAGE)[1], json={})
    assert submitted.status_code == 200, submitted.get_json()
    other_task, other = _task_item(client, person, cid, SIBLING_VILLAGE, scoped_sql)
    refused = client.post(f"/api/v1/tasks/{other_task}/submit", headers=person(SIBLING_VILLAGE)[1], json={})
    assert refused.status_code == 422 and "worklist" in refused.get_json()["errors"]
    # Confirmed dropout: the record says so.
    assert _answer(client, person, SIBLING_VILLAGE, other, answer="confirmed").status_code == 200
    c = world["c"]["id"]
    assert scoped_sql(SIBLING_VILLAGE, f"SELECT schooling FROM children WHERE id = {c}") == [("dropout",)]

    # An unregistered child of the household register put on record: a new record with its history.
    cid2 = _campaign(client, person, "unregistered")["campaign_id"]
    assert scoped_sql(COUNTY, f"SELECT region_code FROM tasks WHERE campaign_id = {cid2}") == [(VILLAGE,)]
    _, row_item = _task_item(client, person, cid2, VILLAGE, scoped_sql)
    added = _answer(client, person, VILLAGE, row_item, answer="added",
                    record={"guardian_name": "吴奶奶", "guardian_relationship": "祖母", "guardian_phone": "13800002222",
                            "schooling": "primary", "father_name": "吴大", "mother_name": "林芳"})
    assert added.status_code == 200, added.get_json()
    new_id = added.get_json()["result_child_id"]
    assert scoped_sql(VILLAGE, f"SELECT name, id_number, is_left_behind FROM children WHERE id = {new_id}") == [
        ("吴小丽", IDS["x"], True)]
    assert scoped_sql(VILLAGE, f"SELECT action FROM child_changes WHERE child_id = {new_id}") == [("create",)]


def _brute_force(rows, code: str, year: int) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for row in rows:
        if row.region_code.startswith(code) and row.status == "answered" and row.answered_on.year == year:
            for key, (kind, answer) in OUTCOMES.items():
                counts[key] += row.list_kind == kind and row.answer == answer
    return counts


def test_outcome_figures_equal_a_brute_force_recount(client, person, world, scoped_sql, jobs):
    cid = _campaign(client, person, "dropout")["campaign_id"]
    for village, body in ((VILLAGE, {"answer": "corrected", "schooling": "primary"}),
                          (SIBLING_VILLAGE, {"answer": "corrected", "schooling": "junior"}),
                          (OTHER_TOWN_VILLAGE, {"answer": "not_found"})):
        _, item = _task_item(client, person, cid, village, scoped_sql)
        assert _answer(client, person, village, item, **body).status_code == 200
    cid2 = _campaign(client, person, "no_hukou")["campaign_id"]
    _, item = _task_item(client, person, cid2, OTHER_TOWN_VILLAGE, scoped_sql)
    registered = _answer(client, person, OTHER_TOWN_VILLAGE, item, answer="corrected", hukou_place="武江区")
    assert registered.status_code == 200
    rollup.rebuild(jobs)
    rows = jobs.execute(text("SELECT region_code, list_kind, status, answer, answered_on FROM worklist_items")).all()
    year = clock.today_cst().year
    stored = {r.unit_code: r for r in jobs.execute(text("SELECT * FROM unit_stats"))}
    for code in ("44", "4402", COUNTY, TOWNSHIP, OTHER_TOWN_VILLAGE[:9], VILLAGE, SIBLING_VILLAGE, OTHER_TOWN_VILLAGE,
                 OTHER_COUNTY):
        expected = _brute_force(rows, code, year)
        assert {k: getattr(stored[code], k) for k in OUTCOMES} == expected, code
    assert _brute_force(rows, COUNTY, year) == {"links_back_to_school": 2, "links_put_on_record": 0,
                                               "links_household_registered": 1, "links_assistance_enrolled": 0}
    assert rollup.verify(jobs, COUNTY) == []
    # The grouped form (a Citus coordinator's) gives the same figures.
    with rollup.grouped_form():
        rollup.rebuild(jobs)
    grouped = {r.unit_code: r for r in jobs.execute(text("SELECT * FROM unit_stats"))}
    for code in ("44", COUNTY, VILLAGE, SIBLING_VILLAGE, OTHER_TOWN_VILLAGE):
        assert {k: getattr(grouped[code], k) for k in OUTCOMES} == _brute_force(rows, code, year), code
    # The dashboard and the protection-outcomes report show them.
    report = client.get(f"/api/v1/outcomes/{COUNTY}", headers=person(COUNTY)[1]).get_json()
    assert report["total"]["links_back_to_school"] == 2 and report["total"]["links_household_registered"] == 1
    page = client.get(f"/dashboard/{COUNTY}", headers=person(COUNTY)[1])
    assert page.status_code in (200, 302)


def test_isolation_a_village_sees_its_own_worklist_and_a_sibling_county_nothing(client, person, world, department,
                                                                                scoped_sql):
    assert client.get(f"/api/v1/worklists/{VILLAGE}/items", headers=person(SIBLING_VILLAGE)[1]).status_code == 404
    assert client.get(f"/api/v1/worklists?unit={COUNTY}", headers=person(VILLAGE)[1]).status_code == 404
    own = client.get("/api/v1/worklists", headers=person(VILLAGE)[1]).get_json()
    assert [r["code"] for r in own["rows"]] == [VILLAGE]
    other = person(OTHER_COUNTY)[1]
    assert client.get(f"/api/v1/worklists?unit={COUNTY}", headers=other).status_code == 404
    assert client.get(f"/api/v1/worklists/{VILLAGE}/items", headers=other).status_code == 404
    assert client.get("/api/v1/worklists", headers=other).get_json()["rows"] == []
    # Departments see no worklist at all.
    assert client.get("/api/v1/worklists", headers=department(COUNTY)[1]).status_code == 403
    # Under row-level security alone.
    total = scoped_sql(COUNTY, "SELECT count(*) FROM worklist_items")[0][0]
    assert total > 0
    assert scoped_sql(OTHER_COUNTY, "SELECT count(*) FROM worklist_items") == [(0,)]
    assert scoped_sql(SIBLING_VILLAGE, "SELECT DISTINCT region_code FROM worklist_items") == [(SIBLING_VILLAGE,)]
    per_village = dict(scoped_sql(COUNTY, "SELECT region_code, count(*) FROM worklist_items GROUP BY region_code"))
    assert scoped_sql(VILLAGE, "SELECT count(*) FROM worklist_items") == [(per_village[VILLAGE],)]
    assert OTHER_COUNTY_VILLAGE not in per_village


def test_pages_chinese_by_default_english_on_request(client, person, world, login, make_user):
    director = make_user(VILLAGE, "staff")
    login(client, director.username)
    page = client.get(f"/links/worklists/{VILLAGE}")
    assert page.status_code == 200 and "核查清单" in page.get_data(as_text=True)
    assert "王小红" in page.get_data(as_text=True)
    english = client.get(f"/links/worklists/{VILLAGE}?lang=en").get_data(as_text=True)
    assert "Worklists" in english
    assert client.get(f"/links/worklists/{SIBLING_VILLAGE}").status_code == 404
    county = make_user(COUNTY, "staff")
    other = client.application.test_client()
    login(other, county.username)
    overview = other.get(f"/links/worklists/{COUNTY}").get_data(as_text=True)
    assert VILLAGE in overview and "下发核查任务" in overview


def test_a_confirmed_grey_match_is_written_back_and_the_worklist_follows(client, person, department, confirmed,
                                                                        scoped_sql):
    kid = _child(client, person, VILLAGE, "b", "张伟")
    _, edu = department(COUNTY)
    # A homophone without an ID number (a "J" student number): 85, the grey band.
    confirmed(edu, "school", csv_file("school", [f"J123,章伟,男,{IDS['b'][6:10]}-{IDS['b'][10:12]}-"
                                                 f"{IDS['b'][12:14]},,第三小学,五年级,在校"]))
    items = client.get(f"/api/v1/worklists/{VILLAGE}/items?list_kind=dropout", headers=person(VILLAGE)[1])
    assert [i["child_id"] for i in items.get_json()["items"]] == [kid["id"]]  # not enrolled until confirmed
    [match] = client.get("/api/v1/rolls/matches", headers=person(COUNTY)[1]).get_json()["items"]
    decided = client.post(f"/api/v1/rolls/matches/{match['id']}/decision", headers=person(COUNTY)[1],
                          json={"decision": "confirm", "version": match["version"]})
    assert decided.status_code == 200
    assert scoped_sql(VILLAGE, f"SELECT school_name FROM children WHERE id = {kid['id']}") == [("第三小学",)]
    assert scoped_sql(VILLAGE, f"SELECT count(*) FROM child_changes WHERE child_id = {kid['id']} "
                               "AND action = 'link'") == [(1,)]
    items = client.get(f"/api/v1/worklists/{VILLAGE}/items?list_kind=dropout", headers=person(VILLAGE)[1])
    assert items.get_json()["items"] == []


def test_a_county_issues_from_its_page_and_a_village_answers_from_its_task_page(client, person, world, login,
                                                                                make_user, scoped_sql):
    county = make_user(COUNTY, "staff")
    login(client, county.username)
    due = (clock.today_cst() + timedelta(days=10)).isoformat()
    issued = client.post(f"/links/worklists/{COUNTY}/campaign", data={"list_kind": "dropout", "due_on": due})
    assert issued.status_code == 302 and "/campaigns/" in issued.headers["Location"]
    [(cid,)] = scoped_sql(COUNTY, "SELECT id FROM campaigns WHERE template = 'verification'")
    [(task_id,)] = scoped_sql(VILLAGE, f"SELECT id FROM tasks WHERE campaign_id = {cid}")
    director = make_user(VILLAGE, "staff")
    village = client.application.test_client()
    login(village, director.username)
    page = village.get(f"/links/verification/{task_id}").get_data(as_text=True)
    assert "王小红" in page
    [(item_id, version)] = scoped_sql(VILLAGE, f"SELECT id, version FROM worklist_items WHERE task_id = {task_id}")
    answered = village.post(f"/links/verification/{task_id}/items/{item_id}",
                            data={"answer": "corrected", "schooling": "primary", "version": version})
    assert answered.status_code == 302
    assert scoped_sql(VILLAGE, f"SELECT answer FROM worklist_items WHERE id = {item_id}") == [("corrected",)]
    assert "open-verification" in village.get(f"/tasks/{task_id}").get_data(as_text=True)
