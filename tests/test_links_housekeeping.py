"""The links' upkeep on real PostgreSQL and the real Redis: the worker's housekeeping queues the daily purge of
stale dry runs (and the purge runs), and hand edits of child records queue one recompute of their villages'
worklists after the commit (a burst coalesced), so the lists follow the records."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker

from sync import outbox, queues
from sync.jobs import redis_connection
from sync.worker import Housekeeper
from tenant_app import clock
from tenant_app.db import db
from tenant_app.links import refresh
from tests import cases_factories, links_factories
from tests.cases_factories import OTHER_COUNTY, SIBLING_VILLAGE, VILLAGE
from tests.links_factories import csv_file
from tests.test_children_api import child_payload, make_id

person = cases_factories.person
department = links_factories.department
upload = links_factories.upload
COUNTY = "440203"


@pytest.fixture
def redis9(app, redis_url, monkeypatch):
    """The test's Redis, emptied; commits in this test enqueue their jobs there."""
    connection = redis_connection(redis_url)
    connection.flushdb()
    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", redis_url)
    yield connection
    connection.flushdb()


def work(connection, *names) -> None:
    SimpleWorker([Queue(name, connection=connection) for name in names], connection=connection).work(burst=True)


def links_jobs(connection) -> list[str]:
    return Queue(queues.LINKS, connection=connection).get_job_ids()


# --- the daily purge -------------------------------------------------------------------------------------

def test_the_housekeeper_queues_the_daily_purge_and_it_removes_stale_dry_runs(app, client, department, upload,
                                                                              redis9, redis_url, scoped_sql):
    row = f"G{make_id()},李小明,男,2016-03-01,,第一小学,四年级,在校"
    _, mine = department(COUNTY)
    _, theirs = department(OTHER_COUNTY)
    with clock.frozen(clock.now() - timedelta(days=2)):
        stale = upload(mine, "school", csv_file("school", [row])).get_json()
        kept = upload(theirs, "school", csv_file("school", [row])).get_json()
        done = client.post(f"/api/v1/rolls/uploads/{kept['id']}/confirm", headers=theirs, json={"version": 0})
        assert done.status_code == 200, done.get_json()
    fresh = upload(theirs, "school", csv_file("school", [row])).get_json()  # purges nothing of the other county
    staged = "SELECT count(*) FROM roll_staged_rows WHERE upload_id = :u"
    assert scoped_sql(COUNTY, staged, u=stale["id"]) == [(1,)]
    redis9.flushdb()  # the match job the confirmation queued is not this test's

    with app.app_context():
        first = Housekeeper(redis_url, db).tick()
        again = Housekeeper(redis_url, db).tick()  # another worker, or the next look: nothing more today
    assert first["purge"] is not None and again["purge"] is None
    assert first["purge"].id == f"links-purge-{clock.today_cst().isoformat()}"
    assert links_jobs(redis9) == [first["purge"].id]
    work(redis9, queues.LINKS)
    assert first["purge"].get_status() == "finished" and first["purge"].return_value() == {"purged": 1}
    uploads = "SELECT id, status FROM roll_uploads ORDER BY id"
    assert scoped_sql(COUNTY, uploads) == []
    assert scoped_sql(COUNTY, staged, u=stale["id"]) == [(0,)]
    assert scoped_sql(OTHER_COUNTY, uploads) == [(kept["id"], "confirmed"), (fresh["id"], "checked")]
    with app.app_context(), clock.frozen(clock.now() + timedelta(days=1)):
        assert Housekeeper(redis_url, db).tick()["purge"] is not None  # the next day's


# --- worklists after hand edits --------------------------------------------------------------------------

def no_hukou(client, person, village: str) -> list[int]:
    response = client.get(f"/api/v1/worklists/{village}/items?list_kind=no_hukou", headers=person(village)[1])
    assert response.status_code == 200, response.get_json()
    return [item["child_id"] for item in response.get_json()["items"]]


def patch(client, person, child: dict, **changes) -> dict:
    response = client.patch(f"/api/v1/children/{child['id']}", headers=person(child["village_code"])[1],
                            json={"version": child["version"], **changes})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def create(client, person, village: str, seq: str, **overrides) -> dict:
    response = client.post("/api/v1/children", headers=person(village)[1],
                           json=child_payload(id_number=make_id(seq=seq), **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_hand_edits_queue_one_recompute_per_village_and_the_lists_follow(client, person, redis9):
    unregistered = create(client, person, VILLAGE, "013", hukou_registered=False)
    create(client, person, VILLAGE, "023")
    [job_id] = links_jobs(redis9)  # two records, one village: one recompute
    assert job_id.startswith(f"worklists-{VILLAGE}-")
    assert no_hukou(client, person, VILLAGE) == []  # not yet: the worker has not run
    work(redis9, queues.LINKS)
    assert no_hukou(client, person, VILLAGE) == [unregistered["id"]]  # entered the list

    # Registered, then corrected twice more: one recompute, after which the record has left the list.
    registered = patch(client, person, unregistered, hukou_registered=True, hukou_place="广东省韶关市浈江区")
    registered = patch(client, person, registered, name="李小明明")
    registered = patch(client, person, registered, guardian_phone="13800002222")
    assert len(links_jobs(redis9)) == 1
    assert no_hukou(client, person, VILLAGE) == [unregistered["id"]]  # stale until the worker runs
    work(redis9, queues.LINKS)
    assert no_hukou(client, person, VILLAGE) == []

    # An edit no list reads queues nothing.
    patch(client, person, registered, guardian_phone="13800003333")
    assert links_jobs(redis9) == []


def test_a_transfer_recomputes_both_villages(client, person, redis9):
    child = create(client, person, VILLAGE, "033", hukou_registered=False)
    work(redis9, queues.LINKS)
    assert no_hukou(client, person, VILLAGE) == [child["id"]]
    asked = client.post(f"/api/v1/children/{child['id']}/transfer", headers=person(VILLAGE)[1],
                        json={"to_village": SIBLING_VILLAGE, "reason": "随祖父母迁居"})
    assert asked.status_code == 201, asked.get_json()
    assert links_jobs(redis9) == []  # a request moves nothing yet
    accepted = client.post(f"/api/v1/transfers/{asked.get_json()['id']}/accept", headers=person(SIBLING_VILLAGE)[1])
    assert accepted.status_code == 200, accepted.get_json()
    assert sorted(j.rsplit("-", 1)[0] for j in links_jobs(redis9)) == [f"worklists-{VILLAGE}",
                                                                        f"worklists-{SIBLING_VILLAGE}"]
    work(redis9, queues.LINKS)
    assert no_hukou(client, person, VILLAGE) == []
    assert no_hukou(client, person, SIBLING_VILLAGE) == [child["id"]]


def test_without_redis_the_recompute_runs_inline_after_the_commit(client, person):
    child = create(client, person, VILLAGE, "043", hukou_registered=False)
    assert no_hukou(client, person, VILLAGE) == [child["id"]]
    patch(client, person, child, status="exited", exit_reason="moved_away")
    assert no_hukou(client, person, VILLAGE) == []


def test_an_import_recomputes_its_village(client, person, scoped_sql):
    from tests import test_children_import as imports

    headers = person(VILLAGE)[1]
    body = imports.upload(client, headers, [imports.row(是否登记户口="否", 身份证号=make_id(seq="073"))]).get_json()
    response = client.post(f"/api/v1/children/imports/{body['id']}/confirm", headers=headers)
    assert response.status_code in (200, 202), response.get_json()
    [(child_id,)] = scoped_sql(VILLAGE, "SELECT id FROM children WHERE id_number = :n", n=make_id(seq="073"))
    assert no_hukou(client, person, VILLAGE) == [child_id]  # set-based insert, noted for its village


def test_with_redis_unreachable_the_edit_stands_and_requests_do_not_wait_on_it(app, client, person, monkeypatch,
                                                                              caplog):
    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", "redis://127.0.0.1:6390/0")  # nothing listens there
    for module in (refresh, outbox):  # each logs an outage once per process: leave the next tests theirs
        monkeypatch.setattr(module, "redis_outage", outbox.RedisOutage(module.log, module.redis_outage.message))
    caplog.set_level(logging.WARNING, logger="tenant_app.links.refresh")
    child = create(client, person, VILLAGE, "063", hukou_registered=False)
    assert "wait for the next recompute" in caplog.text
    assert list(refresh.redis_outage.down_until) == ["redis://127.0.0.1:6390/0"]
    tries = []
    monkeypatch.setattr(refresh, "enqueue_village", lambda *args: tries.append(args))
    patch(client, person, child, hukou_registered=True, hukou_place="广东省韶关市浈江区")
    assert tries == []  # within the back-off: not tried again


def test_an_edit_rolled_back_queues_nothing(app, client, person, redis9):
    from hierarchy.scope import Scope, scoped
    from tenant_app.children.models import Child

    child = create(client, person, VILLAGE, "053")
    redis9.flushdb()
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            session.get(Child, child["id"]).hukou_registered = False
            session.flush()
            assert session.info.get(refresh._VILLAGES) == {VILLAGE}
            session.rollback()
            assert refresh._VILLAGES not in session.info
        finally:
            session.close()
    assert links_jobs(redis9) == []
