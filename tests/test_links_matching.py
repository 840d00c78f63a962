"""Horizontal links: student numbers decoded, pinyin keys, and matching on crafted cases (exact ID, same name,
homophones, one character off, swapped birth dates, another county), with the links and the grey band."""

from __future__ import annotations

from tenant_app.links.keys import decode_student_no, name_key
from tests import cases_factories, links_factories
from tests.cases_factories import OTHER_COUNTY_VILLAGE, VILLAGE
from tests.links_factories import csv_file
from tests.test_children_api import child_payload, make_id

person = cases_factories.person
department = links_factories.department
upload = links_factories.upload
confirmed = links_factories.confirmed

COUNTY = "440203"


def test_student_numbers_decode_to_id_numbers_only_when_they_carry_one():
    number = make_id()
    assert decode_student_no("G" + number) == number
    assert decode_student_no(" g" + number.lower() + " ") == number
    assert decode_student_no("G" + number[:17] + ("0" if number[17] != "0" else "1")) is None  # check fails
    assert decode_student_no("J" + number) is None  # an ID-like number, not an ID number
    assert decode_student_no("G12345") is None
    assert decode_student_no("") is None and decode_student_no(None) is None


def test_pinyin_keys_group_homophones():
    assert name_key("张伟") == name_key("章伟") == "zhang wei"
    assert name_key("李 娜") == "li na"
    assert name_key("王芳") != name_key("王方华")


def _kid(client, person, seq, birth, sex, name, village=VILLAGE, area=COUNTY):
    payload = child_payload(id_number=make_id(birth.replace("-", ""), seq, area=area), name=name, sex=sex,
                            birth_date=birth)
    response = client.post("/api/v1/children", json=payload, headers=person(village)[1])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _children(client, person):
    made = {
        "exact_id": _kid(client, person, "013", "2016-03-01", "male", "李小明"),
        "homophone": _kid(client, person, "015", "2015-05-10", "male", "张伟"),
        "one_off": _kid(client, person, "024", "2015-07-20", "female", "王芳芳"),
        "swapped": _kid(client, person, "026", "2016-04-08", "female", "陈静"),
        "same": _kid(client, person, "017", "2017-11-11", "male", "赵磊"),
    }
    # The same name and birth date in another county: never a candidate of this county's roll.
    _kid(client, person, "019", "2016-01-01", "male", "孙悟空", OTHER_COUNTY_VILLAGE, "440204")
    return made


def _school_rows():
    return [
        f"G{make_id()},李小明,男,2016-03-01,,第一小学,四年级,在校",
        "J440203201505100151,章伟,男,2015-05-10,,第一小学,五年级,在校",
        "J440203201507200242,王芳华,女,2015-07-20,,第一小学,五年级,休学",
        "J440203201608040261,陈静,女,2016-08-04,,第一小学,四年级,在校",
        "J440203201711110171,赵磊,男,2017-11-11,,第一小学,三年级,辍学",
        "J440203201601010191,孙悟空,男,2016-01-01,,第一小学,四年级,转出",
    ]


def test_exact_and_fuzzy_matching_links_and_greys_the_crafted_cases(client, person, department, confirmed):
    kids = _children(client, person)
    _, headers = department(COUNTY)
    body = confirmed(headers, "school", csv_file("school", _school_rows()))
    assert body["version"] == 1 and body["is_current"] is True
    run = client.get(f"/api/v1/rolls/runs/{body['run']['id']}", headers=headers).get_json()
    assert (run["status"], run["rows_done"], run["rows_total"], run["linked"], run["grey"]) == ("done", 6, 6, 2, 3)
    results = client.get(f"/api/v1/rolls/uploads/{body['id']}/results?per_page=50", headers=headers).get_json()
    by_name = {r["name"]: r for r in results["items"]}
    assert (by_name["李小明"]["status"], by_name["李小明"]["score"], by_name["李小明"]["method"]) == (
        "linked", 100, "id_number")
    assert (by_name["赵磊"]["status"], by_name["赵磊"]["score"]) == ("linked", 95)
    assert (by_name["章伟"]["status"], by_name["章伟"]["score"]) == ("grey", 85)
    assert (by_name["陈静"]["status"], by_name["陈静"]["score"]) == ("grey", 80)
    assert (by_name["王芳华"]["status"], by_name["王芳华"]["score"]) == ("grey", 75)
    assert by_name["孙悟空"]["status"] == "unmatched" and by_name["孙悟空"]["village_code"] is None
    assert by_name["章伟"]["village_code"] == VILLAGE
    assert by_name["李小明"]["student_no"] == "G440203********013X" and by_name["李小明"]["id_number"].count("*") == 8
    assert set(results["items"][0]) == {"id", "line", "name", "student_no", "id_number", "match_id", "status",
                                        "score", "method", "village_code"}  # nothing else of the child

    # The county's staff see the grey band with both sides, and decide.
    _, county = person(COUNTY)
    queue = client.get("/api/v1/rolls/matches", headers=county).get_json()
    assert queue["total"] == 3
    grey = {m["roll_name"]: m for m in queue["items"]}
    assert grey["章伟"]["child_id"] == kids["homophone"]["id"] and grey["章伟"]["child_name"] == "张伟"
    assert grey["陈静"]["child_id"] == kids["swapped"]["id"]
    assert grey["王芳华"]["child_id"] == kids["one_off"]["id"]
    match = grey["章伟"]
    response = client.post(f"/api/v1/rolls/matches/{match['id']}/decision", headers=county,
                           json={"decision": "confirm", "version": match["version"]})
    assert response.status_code == 200 and response.get_json()["status"] == "confirmed"
    stale = client.post(f"/api/v1/rolls/matches/{match['id']}/decision", headers=county,
                        json={"decision": "reject", "version": match["version"]})
    assert stale.status_code == 409 and "version" in stale.get_json()["errors"]
    response = client.post(f"/api/v1/rolls/matches/{grey['陈静']['id']}/decision", headers=county,
                           json={"decision": "reject", "version": grey["陈静"]["version"]})
    assert response.get_json()["status"] == "rejected"
    assert client.get("/api/v1/rolls/matches", headers=county).get_json()["total"] == 1
    # A township's staff neither read the queue nor decide.
    _, township = person("440203001")
    assert client.get("/api/v1/rolls/matches", headers=township).status_code == 403
    assert client.post(f"/api/v1/rolls/matches/{grey['王芳华']['id']}/decision", headers=township,
                       json={"decision": "confirm", "version": 1}).status_code == 403


def test_a_new_version_replaces_the_current_one_and_a_stale_confirmation_is_a_conflict(
        client, person, department, upload, confirmed):
    _kid(client, person, "013", "2016-03-01", "male", "李小明")
    _, headers = department(COUNTY)
    rows = [f"G{make_id()},李小明,男,2016-03-01,,第一小学,四年级,在校"]
    pending = upload(headers, "school", csv_file("school", rows)).get_json()  # dry run against version 0
    first = confirmed(headers, "school", csv_file("school", rows))
    second = confirmed(headers, "school", csv_file("school", rows + ["J1,孙悟空,男,2016-01-01,,一小,四年级,在校"]))
    assert (first["version"], second["version"]) == (1, 2)
    listed = client.get("/api/v1/rolls/uploads?per_page=50", headers=headers).get_json()["items"]
    current = {u["id"]: u["is_current"] for u in listed if u["status"] == "confirmed"}
    assert current == {first["id"]: False, second["id"]: True}
    stale = client.post(f"/api/v1/rolls/uploads/{pending['id']}/confirm", headers=headers, json={"version": 0})
    assert stale.status_code == 409 and "version" in stale.get_json()["errors"]
    again = client.post(f"/api/v1/rolls/uploads/{second['id']}/confirm", headers=headers, json={"version": 1})
    assert again.status_code == 409
    # Old rows are kept by version.
    old = client.get(f"/api/v1/rolls/uploads/{first['id']}/results", headers=headers).get_json()
    assert old["total"] == 1 and old["items"][0]["status"] == "linked"


def test_matching_in_small_chunks_counts_progress_and_finds_the_same(client, person, department, confirmed,
                                                                     monkeypatch):
    from tenant_app.links import matching

    seen = []
    real_set = matching.update

    def spy(*args, **kwargs):
        seen.append(args)
        return real_set(*args, **kwargs)

    monkeypatch.setattr(matching, "CHUNK", 2)
    monkeypatch.setattr(matching, "update", spy)
    _children(client, person)
    _, headers = department(COUNTY)
    body = confirmed(headers, "school", csv_file("school", _school_rows()))
    run = client.get(f"/api/v1/rolls/runs/{body['run']['id']}", headers=headers).get_json()
    assert (run["status"], run["rows_done"], run["rows_total"], run["linked"], run["grey"]) == ("done", 6, 6, 2, 3)
    assert len(seen) >= 3  # the progress written chunk by chunk


def test_a_match_run_is_queued_on_the_links_queue_under_a_deterministic_id(redis_url):
    from rq import Queue

    from sync import queues
    from sync.jobs import redis_connection
    from tenant_app.links import rolls
    from tenant_app.links.models import MatchRun

    run = MatchRun(id=2_000_000_001, dept_unit=COUNTY)
    job = rolls.enqueue_match(run, redis_url)
    try:
        assert job.id == "links-match-2000000001" and job.origin == queues.LINKS == "links"
        assert queues.LINKS in queues.ALL  # the worker listens to it
        assert job.args[:4] == ("tenant_app.links.matching.run_match", COUNTY, False, run.id)
    finally:
        job.delete()
        Queue(queues.LINKS, connection=redis_connection(redis_url)).empty()


def test_a_citys_household_register_matches_within_each_rows_county(client, person, department, confirmed):
    """A city's public security bureau: the ID number first, then name + birth date + sex within the county of
    the row's address, so a namesake born the same day in another county of the city is no candidate."""
    kid = _kid(client, person, "013", "2016-03-01", "male", "李小明")
    _kid(client, person, "019", "2016-01-01", "male", "孙悟空", OTHER_COUNTY_VILLAGE, "440204")
    _, headers = department("4402", "public_security")
    unknown = make_id("20160101", "031")  # not on any record: matched by name, sex and birth date, or not at all
    body = confirmed(headers, "household", csv_file("household", [
        f"{make_id()},李小明,男,2016-03-01,{VILLAGE},李大,,,是,否",
        f"{unknown},孙悟空,男,2016-01-01,{VILLAGE},孙大,,,否,否",
        f"{make_id('20160101', '051')},孙悟空,男,2016-01-01,{OTHER_COUNTY_VILLAGE},孙二,,,否,否",
    ]))
    results = client.get(f"/api/v1/rolls/uploads/{body['id']}/results", headers=headers).get_json()["items"]
    assert [(r["status"], r["score"], r["village_code"]) for r in results] == [
        ("linked", 100, VILLAGE), ("unmatched", None, None), ("linked", 95, OTHER_COUNTY_VILLAGE)]
    assert kid["id"]  # the county's record, linked by its ID number


def test_a_retried_match_run_restores_what_is_missing_and_links_nothing_twice(
        app, client, person, department, confirmed, scoped_sql, db_connection):
    """A run retried after a crash (its status left 'running', part of its matches lost with the crash's
    rollback) ends with exactly the matches of a run that never failed."""
    from sqlalchemy import text

    from sync.jobs import run_scoped
    from tenant_app.db import db

    _children(client, person)
    _, headers = department(COUNTY)
    body = confirmed(headers, "school", csv_file("school", _school_rows()))
    counts = "SELECT method, status, count(*) FROM roll_matches WHERE upload_id = :u GROUP BY 1, 2 ORDER BY 1, 2"
    before = scoped_sql(COUNTY, counts, u=body["id"])
    assert sum(n for _, _, n in before) == 5
    # The crash, as the tables' owner (the application role may not delete matches).
    db_connection.exec_driver_sql("SET LOCAL ROLE NONE")
    lost = db_connection.execute(text("DELETE FROM roll_matches WHERE upload_id = :u AND roll_name = '赵磊' "
                                      "RETURNING id"), {"u": body["id"]}).all()
    db_connection.execute(text("UPDATE roll_match_runs SET status = 'running' WHERE id = :r"), {"r": body["run"]["id"]})
    db_connection.exec_driver_sql(f'SET LOCAL ROLE "{db.app_role}"')
    assert len(lost) == 1
    with app.app_context():  # as the worker runs it: in the department's unit scope
        result = run_scoped("tenant_app.links.matching.run_match", COUNTY, False, body["run"]["id"])
    assert (result["linked"], result["grey"]) == (2, 3)
    assert scoped_sql(COUNTY, counts, u=body["id"]) == before
