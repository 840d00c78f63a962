"""A village never sees a sibling's task, answers, timeline or census confirmations: through the API, through
row-level security alone, and on SQLite (the quick start) through the application lock, where the whole task
flow also runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hierarchy.codes import ancestors_of, level_of
from hierarchy.models import Unit
from hierarchy.scope import Scope, scoped
from tenant_app.auth.models import User
from tenant_app.campaigns.models import Campaign, CensusCheck, Task, TaskEvent
from tenant_app.children.models import Child, ChildChange
from tenant_app.errors import Forbidden, NotFound, ValidationFailed
from tenant_app.tasks import census, review, services
from tests import tasks_factories
from tests.tasks_factories import SIBLING, TOWNSHIP, VILLAGE
from tests.test_children_api import child_payload, make_id

# The shared fixtures, under their own names for pytest.
make_campaign = tasks_factories.make_campaign
people = tasks_factories.people


@pytest.fixture
def worked(client, make_campaign, people):
    """A census campaign where VILLAGE confirmed a child and submitted, and SIBLING saved a draft."""
    child = client.post("/api/v1/children", json=child_payload(id_number=make_id(seq="013")),
                        headers=people["director"]).get_json()
    made = make_campaign(kind="census")
    mine, theirs = made.tasks[VILLAGE], made.tasks[SIBLING]
    assert client.post(f"/api/v1/tasks/{mine}/census/{child['id']}", headers=people["director"]).status_code == 200
    assert client.post(f"/api/v1/tasks/{mine}/submit", json={"answers": {"notes": "本村秘密"}},
                       headers=people["director"]).status_code == 200
    assert client.put(f"/api/v1/tasks/{theirs}/draft", json={"answers": {"notes": "邻村草稿"}},
                      headers=people["sibling"]).status_code == 200
    return made, mine, theirs, child


def test_api_a_village_sees_only_its_own_task(client, people, worked):
    made, mine, theirs, child = worked
    sibling = people["sibling"]
    body = client.get("/api/v1/tasks", headers=sibling).get_json()
    assert [i["id"] for i in body["items"]] == [theirs]
    for query in ("?status=submitted", f"?campaign={made.id}", "?review=1", "?overdue=0"):
        ids = [i["id"] for i in client.get(f"/api/v1/tasks{query}", headers=sibling).get_json()["items"]]
        assert mine not in ids, query
    for path in (f"/api/v1/tasks/{mine}", f"/api/v1/tasks/{mine}/census"):
        response = client.get(path, headers=sibling)
        assert response.status_code == 404 and "本村秘密" not in response.get_data(as_text=True)
    assert client.post(f"/api/v1/tasks/{mine}/census/{child['id']}", headers=sibling).status_code == 404
    assert client.delete(f"/api/v1/tasks/{mine}/census/{child['id']}", headers=sibling).status_code == 404
    # Answers and timeline of my own task are mine to read; the sibling's draft is not in them.
    detail = client.get(f"/api/v1/tasks/{mine}", headers=people["director"]).get_json()
    assert detail["answers"]["notes"] == "本村秘密" and "邻村草稿" not in str(detail)
    # The township above sees both, another township neither.
    assert client.get(f"/api/v1/tasks/{theirs}", headers=people["supervisor"]).status_code == 200
    assert client.get(f"/api/v1/tasks/{mine}", headers=people["other_supervisor"]).status_code == 404
    assert client.get(f"/api/v1/tasks/{mine}", headers=people["county"]).get_json()["answers"]["notes"] == "本村秘密"


def test_rls_alone_keeps_a_villages_tasks_events_and_checks_from_its_sibling(scoped_sql, worked):
    made, mine, theirs, child = worked
    for table, column in (("tasks", "id"), ("task_events", "task_id"), ("census_checks", "task_id")):
        rows = scoped_sql(SIBLING, f"SELECT {column} FROM {table} WHERE {column} = :id", id=mine)
        assert rows == [], table
        assert scoped_sql(VILLAGE, f"SELECT {column} FROM {table} WHERE {column} = :id", id=mine) != [], table
        assert scoped_sql(TOWNSHIP, f"SELECT {column} FROM {table} WHERE {column} = :id", id=mine) != [], table
        assert scoped_sql(None, f"SELECT {column} FROM {table}") == [], table
    answers = scoped_sql(SIBLING, "SELECT answers::text FROM tasks")
    assert len(answers) == 1 and "本村秘密" not in answers[0][0]


def test_rls_alone_refuses_a_siblings_writes(scoped_sql, worked):
    made, mine, theirs, child = worked
    assert scoped_sql(SIBLING, "UPDATE tasks SET status = 'approved' WHERE id = :id RETURNING id", id=mine) == []
    with pytest.raises(DBAPIError):
        scoped_sql(SIBLING, "INSERT INTO task_events (task_id, region_code, kind, actor_name, note, at) "
                            "VALUES (:id, :v, 'approved', 'x', '', now())", id=mine, v=VILLAGE)
    with pytest.raises(DBAPIError):
        scoped_sql(SIBLING, "INSERT INTO census_checks (task_id, child_id, region_code, checked_at) "
                            "VALUES (:id, :c, :v, now())", id=mine, c=child["id"], v=VILLAGE)
    assert scoped_sql(SIBLING, "DELETE FROM census_checks WHERE task_id = :id RETURNING task_id", id=mine) == []
    assert scoped_sql(VILLAGE, "SELECT status FROM tasks WHERE id = :id", id=mine) == [("submitted",)]


# --- SQLite: the application lock alone, and the whole flow on the quick start's database ------------------

@pytest.fixture
def sqlite_db(tmp_path):
    from tenant_app.auth.passwords import hash_password
    from tenant_app.db import Database
    from tenant_app.migrate import upgrade

    url = f"sqlite:///{tmp_path}/tasks.sqlite3"
    upgrade(url)
    database = Database()
    database.configure(url, None)
    codes = ["44", "4402", "440203", TOWNSHIP, VILLAGE, SIBLING]
    with database.session_scope(Scope(all_tenants=True)) as session:
        for code in codes:
            parent = ancestors_of(code)[-1] if ancestors_of(code) else None
            session.add(Unit(code=code, name=f"单位{code}", level=int(level_of(code)), parent_code=parent))
        session.flush()
        for code in (TOWNSHIP, VILLAGE, SIBLING):
            session.add(User(region_code=code, username=f"sq_{code}", role="staff", password_hash=hash_password("x"),
                             real_name=f"用户{code}", phone=""))
        published = datetime(2026, 6, 1, tzinfo=UTC)
        campaign = Campaign(issuer_code="44", title="摸底排查", directive="", kind="census", target_level=5,
                            reviewer_level=4, starts_on=date(2026, 6, 1), due_on=date(2026, 6, 30),
                            questions=[{"key": "children_rechecked", "label": "复核", "type": "integer",
                                        "required": True},
                                       {"key": "children_exited", "label": "退出", "type": "integer",
                                        "required": True}],
                            status="open", published_at=published)
        session.add(campaign)
        session.flush()
        for code in (VILLAGE, SIBLING):
            session.add(Task(campaign_id=campaign.id, region_code=code, reviewer_code=TOWNSHIP,
                             due_on=date(2026, 6, 30), status="pending", answers={}))
        kid = Child(region_code=VILLAGE, province_code="44", name="甲", sex="male", birth_date=date(2016, 3, 1),
                    created_at=published - timedelta(days=30), updated_at=published)
        gone = Child(region_code=VILLAGE, province_code="44", name="乙", sex="male", birth_date=date(2016, 3, 1),
                     status="exited", exit_reason="moved_away", exited_at=date(2026, 5, 1),
                     created_at=published - timedelta(days=30), updated_at=published)
        session.add_all([kid, gone])
        session.flush()
        session.add(ChildChange(child_id=gone.id, region_code=VILLAGE, version=2, action="update",
                                changed_at=published + timedelta(days=2),
                                changes={"status": ["active", "exited"]}, snapshot={}))
    yield database
    database.engine.dispose()


def _actor(session, code):
    return session.scalars(select(User).where(User.region_code == code)).one()


def test_sqlite_the_flow_and_the_application_lock(sqlite_db):
    with scoped(Scope.unit(SIBLING)):
        session = sqlite_db.new_session()
        try:
            sibling = _actor(session, SIBLING)
            items, total = services.list_tasks(session, sibling)
            assert total == 1 and items[0]["unit_code"] == SIBLING
            theirs = items[0]["id"]
        finally:
            session.close()
    with scoped(Scope.unit(VILLAGE)):
        session = sqlite_db.new_session()
        try:
            director = _actor(session, VILLAGE)
            items, total = services.list_tasks(session, director, today=date(2026, 7, 1))
            assert total == 1 and items[0]["overdue"] is True
            task = items[0]["id"]
            assert session.scalars(select(Task).where(Task.id == theirs)).all() == []
            with pytest.raises(NotFound):
                services.task_detail(session, director, theirs)
            children, total, counts = census.list_children(session, director, task)
            assert [c["name"] for c in children] == ["甲", "乙"]
            assert counts == {"confirmed": 0, "added": 0, "exited": 1, "total_active": 1, "unconfirmed": 1,
                              "unchanged_unconfirmed": 1, "editable": True}
            with pytest.raises(ValidationFailed):
                services.submit(session, director, task, {})
            census.confirm(session, director, task, children[0]["id"])
            services.save_draft(session, director, task, {"children_rechecked": 1})
            services.submit(session, director, task, {})
            session.commit()
            detail = services.task_detail(session, director, task)
            assert detail["status"] == "submitted"
            assert detail["answers"] == {"children_rechecked": 1, "children_exited": 1}
            assert [s["kind"] for s in detail["timeline"]] == ["published", "draft_saved", "draft_saved",
                                                               "submitted"]
            with pytest.raises(Forbidden):
                review.approve(session, director, task)
        finally:
            session.close()
    with scoped(Scope.unit(TOWNSHIP)):
        session = sqlite_db.new_session()
        try:
            supervisor = _actor(session, TOWNSHIP)
            queue, total = services.list_tasks(session, supervisor, review=True)
            assert [i["id"] for i in queue] == [task]
            review.return_task(session, supervisor, task, "请核实")
            session.commit()
            assert session.scalar(select(Task.status).where(Task.id == task)) == "returned"
            assert len(session.scalars(select(TaskEvent)).all()) == 4
            assert session.scalars(select(CensusCheck)).all()[0].task_id == task
        finally:
            session.close()
