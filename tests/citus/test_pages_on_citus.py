"""The application's pages on the Citus cluster: the quick start's demo (the Shaoguan tree, its demo accounts at
every level, a partner department, children in a township) set up by the application's own commands on a
distributed database, a province's campaign published by the fan-out job, then every page reachable from each
demo account's home page crawled in Chinese (tests/crawler.py, the main suite's crawler): no 5xx, no template
error, no raw key."""

from __future__ import annotations

import json

import pytest

from hierarchy.scope import Scope, apply_db_scope, job_scope
from tenant_app.loadbench import dataset
from tests.crawler import Checker, Crawler, CrawlResult

ACCOUNTS = ("prov_admin", "prov_staff", "county_admin", "county_staff", "town_admin", "town_staff",
            "village_admin", "village_staff", "county_edu")


@pytest.fixture(scope="module")
def demo_site(citus_url):
    from tenant_app import clock, create_app
    from tenant_app.campaigns.catalog import get_template
    from tenant_app.campaigns.fanout import fan_out_campaign
    from tenant_app.cli import BUNDLED_REGIONS, _generate_demo_children, create_demo_users, load_region_dirs
    from tenant_app.db import db
    from tests.test_crawl import _data_strings, _enum_words

    url = dataset.create_database(citus_url, "shouhu_citus_pages")
    try:
        from tenant_app.migrate import upgrade

        upgrade(url)
        app = create_app({"SHOUHU_DATABASE_URL": url, "TESTING": True, "PROPAGATE_EXCEPTIONS": False,
                          "SECRET_KEY": "citus-pages", "SHOUHU_REDIS_URL": None,
                          "SHOUHU_TRACKING_CACHE_SECONDS": 0})
        with app.app_context():
            load_region_dirs([BUNDLED_REGIONS / "shaoguan"])
            accounts = create_demo_users()
            _generate_demo_children()
            template = get_template(dataset.TEMPLATE)
            with db.engine.begin() as connection, job_scope("44") as scope:
                apply_db_scope(connection, scope)
                campaign_id = connection.execute(dataset.CAMPAIGN_INSERT, {
                    "p": "44", "province": "44", "title": template["title"], "directive": template["directive"],
                    "kind": template["kind"], "start": clock.today_cst(), "due": clock.today_cst(),
                    "q": json.dumps(template["questions"], ensure_ascii=False),
                    "now": clock.now()}).scalar_one()
            with job_scope("44"):
                fan_out_campaign(campaign_id)
        checker = Checker(_data_strings(app), _enum_words())
        yield {"app": app, "accounts": {a[0]: a for a in accounts}, "campaign": campaign_id,
               "crawler": Crawler(app, checker, limit=60)}
    finally:
        if db.engine is not None:
            db.engine.dispose()
        dataset.drop_database(citus_url, url)


def test_the_demo_is_set_up_on_the_shards(demo_site):
    from tenant_app.db import db

    with demo_site["app"].app_context(), db.engine.connect() as connection:
        apply_db_scope(connection, Scope(all_tenants=True))
        from sqlalchemy import text

        assert connection.execute(text("SELECT count(*) FROM children")).scalar() == 600
        tasks = connection.execute(text("SELECT count(*), count(DISTINCT province_code) FROM tasks "
                                        "WHERE campaign_id = :c"), {"c": demo_site["campaign"]}).one()
        villages = connection.execute(text("SELECT count(*) FROM units WHERE level = 5 AND NOT retired")).scalar()
        assert tasks == (villages, 1)
    assert set(demo_site["accounts"]) == set(ACCOUNTS)


def _crawl_as(demo_site, username: str) -> None:
    """Log in through the page and crawl from the home page and the campaign's tracking page: no problem found."""
    from tenant_app.cli import DEMO_PASSWORD

    crawler, result = demo_site["crawler"], CrawlResult()
    client = demo_site["app"].test_client()
    result.problems += crawler.login(client, username, DEMO_PASSWORD, result)
    crawler.crawl(client, "zh", result, start=(f"/campaigns/{demo_site['campaign']}/track",))
    # A partner department has a few pages of its own; every staff account many.
    assert len(result.visits) > (5 if username == "county_edu" else 10), [v.url for v in result.visits]
    assert not result.problems, "\n".join(result.problems[:40])


@pytest.mark.parametrize("username", ACCOUNTS)
def test_every_page_of_a_demo_account_on_the_cluster(demo_site, username):
    _crawl_as(demo_site, username)


def _token(client, username: str) -> dict:
    from tenant_app.cli import DEMO_PASSWORD

    issued = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert issued.status_code == 201, issued.get_data(True)[:300]
    return {"Authorization": f"Bearer {issued.get_json()['token']}"}


def test_a_directors_day_of_writes_on_the_cluster(demo_site):
    """A village director records a child, edits it (a stale version is refused), visits the child and answers the
    province's task; the township approves it; the village's figures follow (the inline roll-up)."""
    from tenant_app.children import idcard

    client = demo_site["app"].test_client()
    director = _token(client, "village_staff")
    village = demo_site["accounts"]["village_staff"][2]
    before = client.get(f"/api/v1/stats/{village}", headers=director).get_json()["indicators"]["children_total"]
    first17 = village[:6] + "20160301" + "017"
    created = client.post("/api/v1/children", headers=director, json={
        "name": "李小明", "sex": "male", "birth_date": "2016-03-01", "id_number": first17 + idcard.check_char(first17),
        "hukou_registered": True, "hukou_rural": True, "health_status": "healthy", "schooling": "primary",
        "father_situation": "away", "mother_situation": "away", "guardian_name": "李爷爷", "is_left_behind": True,
        "income_sources": ["migrant_work"], "assistance": [], "village_code": village})
    assert created.status_code == 201, created.get_data(True)[:500]
    child = created.get_json()
    read = client.get(f"/api/v1/children/{child['id']}?purpose=visit", headers=director)
    assert read.status_code == 200 and read.get_json()["name"] == "李小明"
    edited = client.patch(f"/api/v1/children/{child['id']}", headers=director,
                          json={"guardian_name": "李奶奶", "version": child["version"]})
    assert edited.status_code == 200, edited.get_data(True)[:500]
    stale = client.patch(f"/api/v1/children/{child['id']}", headers=director,
                         json={"guardian_name": "王奶奶", "version": child["version"]})
    assert stale.status_code == 409
    visited = client.post(f"/api/v1/children/{child['id']}/visits", headers=director,
                          json={"visited_on": "2026-12-01", "met": ["child", "guardian"], "findings": "情况良好"})
    assert visited.status_code == 201, visited.get_data(True)[:500]
    tasks = client.get("/api/v1/tasks", headers=director).get_json()["items"]
    task = next(t for t in tasks if t["campaign_id"] == demo_site["campaign"])
    saved = client.put(f"/api/v1/tasks/{task['id']}/draft", headers=director, json={"answers": dataset.ANSWERS})
    assert saved.status_code == 200, saved.get_data(True)[:500]
    submitted = client.post(f"/api/v1/tasks/{task['id']}/submit", headers=director, json={})
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    approved = client.post(f"/api/v1/tasks/{task['id']}/approve", headers=_token(client, "town_staff"), json={})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved", approved.get_data(True)[:500]
    figures = client.get(f"/api/v1/stats/{village}", headers=director).get_json()
    assert figures["indicators"]["children_total"] == before + 1
    progress = {c["id"]: c for c in figures["campaigns"]}[demo_site["campaign"]]
    assert progress["approved"] == 1, progress


def test_a_countys_links_on_the_cluster(demo_site):
    """The education bureau's school roll matched against the records, the county's worklists recomputed, a
    verification campaign made of the dropout list, and a village reading its items, all on the cluster."""
    import io
    from datetime import timedelta

    from sqlalchemy import text

    from tenant_app import clock
    from tenant_app.db import db
    from tests.links_factories import csv_file

    app = demo_site["app"]
    client = app.test_client()
    county = demo_site["accounts"]["county_staff"][2]
    with app.app_context(), db.engine.connect() as connection:
        apply_db_scope(connection, Scope(all_tenants=True))
        kids = connection.execute(text(
            "SELECT id, name, sex, birth_date, id_number FROM children WHERE status = 'active' "
            "AND birth_date <= :b6 AND birth_date > :b16 ORDER BY id LIMIT 3"),
            {"b6": clock.today_cst() - timedelta(days=7 * 366), "b16": clock.today_cst() - timedelta(days=15 * 365)}
        ).all()
    assert len(kids) == 3
    sex = {"male": "男", "female": "女"}
    states = ("在校", "在校", "辍学")
    rows = [f"G{k.id_number},{k.name},{sex[k.sex]},{k.birth_date.isoformat()},,第一小学,四年级,{state}"
            for k, state in zip(kids, states, strict=True)]
    rows.append("J440203201601010191,孙悟空,男,2016-01-01,,第一小学,四年级,转出")
    bureau = _token(client, "county_edu")
    uploaded = client.post("/api/v1/rolls/uploads", headers=bureau, content_type="multipart/form-data",
                           data={"roll_kind": "school", "file": (io.BytesIO(csv_file("school", rows)), "roll.csv")})
    assert uploaded.status_code == 201, uploaded.get_data(True)[:500]
    body = uploaded.get_json()
    assert body["status"] == "checked", body["errors"]
    confirmed = client.post(f"/api/v1/rolls/uploads/{body['id']}/confirm", headers=bureau,
                            json={"version": body["base_version"]})
    assert confirmed.status_code == 200, confirmed.get_data(True)[:500]
    run = client.get(f"/api/v1/rolls/runs/{confirmed.get_json()['run']['id']}", headers=bureau).get_json()
    assert (run["status"], run["rows_done"], run["linked"]) == ("done", 4, 3), run
    staff = _token(client, "county_staff")
    refreshed = client.post("/api/v1/worklists/refresh", headers=staff, json={"unit": county})
    assert refreshed.status_code == 200, refreshed.get_data(True)[:500]
    assert refreshed.get_json()["lists"]["dropout"] > 0
    overview = client.get("/api/v1/worklists", headers=staff).get_json()
    assert overview["totals"]["dropout"] == refreshed.get_json()["lists"]["dropout"]
    campaign = client.post("/api/v1/worklists/campaigns", headers=staff, json={
        "list_kind": "dropout", "due_on": (clock.today_cst() + timedelta(days=14)).isoformat()})
    assert campaign.status_code == 201, campaign.get_data(True)[:500]
    made = campaign.get_json()
    assert made["task_count"] > 0 and made["items"] == overview["totals"]["dropout"]
    village = demo_site["accounts"]["village_staff"][2]
    lists = client.get(f"/api/v1/worklists/{village}/items", headers=_token(client, "village_staff"))
    assert lists.status_code == 200, lists.get_data(True)[:500]


def test_a_countys_day_of_tracking_and_protection_on_the_cluster(demo_site):
    """The county reminds its villages that have not answered and extends the deadline for its subtree; a village
    director reports a child living alone, the county accepts the case, and days later the escalation job raises
    an unaccepted one; every write lands on the province's shard and is read back through the API."""
    from datetime import timedelta

    from tenant_app import clock
    from tenant_app.cases import escalation
    from tenant_app.db import db

    app, campaign = demo_site["app"], demo_site["campaign"]
    client = app.test_client()
    county = demo_site["accounts"]["county_staff"][2]
    village = demo_site["accounts"]["village_staff"][2]
    staff, director = _token(client, "county_staff"), _token(client, "village_staff")
    reminded = client.post(f"/api/v1/campaigns/{campaign}/remind", headers=staff,
                           json={"units": [county], "subtree": True, "message": "请尽快填报"})
    assert reminded.status_code == 201, reminded.get_data(True)[:500]
    assert reminded.get_json()["notified"] > 0 and reminded.get_json()["tasks_reminded"] > 0
    history = client.get(f"/api/v1/campaigns/{campaign}/reminders", headers=staff)
    assert history.status_code == 200 and "请尽快填报" in history.get_data(True), history.get_data(True)[:500]
    with app.app_context(), db.engine.connect() as connection:
        from sqlalchemy import text

        apply_db_scope(connection, Scope(all_tenants=True))
        reached = connection.execute(text(
            "SELECT count(DISTINCT n.region_code) FROM notifications n WHERE n.kind = 'reminder' "
            "AND n.message = '请尽快填报'")).scalar()
    assert reached == reminded.get_json()["notified"]
    version = client.get(f"/api/v1/campaigns/{campaign}", headers=staff).get_json()["version"]
    extended = client.post(f"/api/v1/campaigns/{campaign}/extend", headers=staff, json={
        "due_on": (clock.today_cst() + timedelta(days=7)).isoformat(), "version": version})
    assert extended.status_code == 200, extended.get_data(True)[:500]
    due = {t["due_on"] for t in client.get("/api/v1/tasks", headers=director).get_json()["items"]
           if t["campaign_id"] == campaign}
    assert due == {(clock.today_cst() + timedelta(days=7)).isoformat()}

    def report(narrative: str) -> dict:
        filed = client.post("/api/v1/reports", headers=director, json={
            "category": "living_alone", "urgency": "normal", "village_code": village,
            "occurred_at": (clock.now() - timedelta(hours=2)).isoformat(), "narrative": narrative,
            "unknown_child_description": "约8岁男孩，住村东头", "reporter_kind": "staff", "reporter_name": ""})
        assert filed.status_code == 201, filed.get_data(True)[:500]
        return filed.get_json()

    case = report("邻居反映孩子独自在家已三天。")
    waiting = report("孩子放学后无人照看。")
    accepted = client.post(f"/api/v1/cases/{case['id']}/accept", headers=staff,
                           json={"version": case["version"], "note": "当日受理"})
    assert accepted.status_code == 200 and accepted.get_json()["stage"] == "accepted", accepted.get_data(True)[:500]
    queue = client.get("/api/v1/cases", headers=staff).get_json()
    assert {c["id"] for c in queue["items"]} >= {case["id"], waiting["id"]}
    with app.app_context(), clock.frozen(clock.now() + timedelta(days=3)), job_scope(all_tenants=True), \
            db.session_scope() as session:
        raised = escalation.escalate(session)
    assert raised["cases"] >= 1, raised
    later = client.get(f"/api/v1/cases/{waiting['id']}", headers=staff).get_json()
    assert later["escalation_level"] > 0, later


def test_a_villages_records_move_on_the_cluster(demo_site):
    """A director imports a workbook of records (set-based, with their history) and exports them with full ID
    numbers (audited); the township's admin makes an account for a neighbouring village, whose director changes
    the password an admin set; a child is transferred there and accepted."""
    import io

    from openpyxl import Workbook

    from tenant_app.children import excel, idcard

    app = demo_site["app"]
    client = app.test_client()
    village = demo_site["accounts"]["village_staff"][2]
    director = _token(client, "village_staff")

    def id_number(born: str, seq: str) -> str:
        first17 = village[:6] + born.replace("-", "") + seq
        return first17 + idcard.check_char(first17)

    book = Workbook()
    sheet = book.active
    sheet.append(excel.HEADERS)
    for name, sex, born, seq in (("赵小明", "男", "2016-03-01", "071"), ("钱小红", "女", "2015-07-05", "082")):
        cells = {"村(居)代码": village, "姓名": name, "性别": sex, "出生日期": born, "身份证号": id_number(born, seq),
                 "父亲状况": "外出务工", "母亲状况": "外出务工", "受托监护人姓名": "李爷爷", "就学状况": "小学",
                 "留守儿童": "是", "家庭收入来源": "务工、务农"}
        sheet.append([cells.get(h) for h in excel.HEADERS])
    data = io.BytesIO()
    book.save(data)
    checked = client.post("/api/v1/children/imports", headers=director, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(data.getvalue()), "children.xlsx")})
    assert checked.status_code == 202 and checked.get_json()["valid_count"] == 2, checked.get_data(True)[:500]
    applied = client.post(f"/api/v1/children/imports/{checked.get_json()['id']}/confirm", headers=director)
    assert applied.status_code == 202 and applied.get_json()["applied_count"] == 2, applied.get_data(True)[:500]
    found = client.get("/api/v1/children?q=钱小红", headers=director).get_json()["items"]
    assert len(found) == 1
    child = found[0]
    history = client.get(f"/api/v1/children/{child['id']}/history", headers=director).get_json()
    assert [h["action"] for h in history] == ["create"]
    exported = client.get("/api/v1/children/export.xlsx?full_ids=1", headers=director)
    assert exported.status_code == 200 and exported.mimetype.endswith("sheet")

    neighbour = village[:9] + f"{int(village[9:]) + 1:03d}"
    made = client.post("/api/v1/users", headers=_token(client, "town_admin"), json={
        "username": "neighbour_director", "real_name": "邻村主任", "phone": "13700000000", "role": "staff",
        "unit_code": neighbour, "password": "Neighbour-2026"})
    assert made.status_code == 201, made.get_data(True)[:500]
    issued = client.post("/api/v1/auth/token", json={"username": "neighbour_director", "password": "Neighbour-2026"})
    receiver = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    changed = client.post("/api/v1/me/password", headers=receiver, json={
        "current_password": "Neighbour-2026", "new_password": "Neighbour-2027!"})
    assert changed.status_code == 200, changed.get_data(True)[:500]  # an account an admin made: changed first
    moved = client.post(f"/api/v1/children/{child['id']}/transfer", headers=director,
                        json={"to_village": neighbour, "reason": "随祖父母迁居"})
    assert moved.status_code == 201, moved.get_data(True)[:500]
    accepted = client.post(f"/api/v1/transfers/{moved.get_json()['id']}/accept", headers=receiver)
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted", accepted.get_data(True)[:500]
    record = client.get(f"/api/v1/children/{child['id']}", headers=receiver).get_json()
    assert record["village_code"] == neighbour
    assert client.get(f"/api/v1/children/{child['id']}", headers=director).status_code == 404


def test_a_partner_reporter_on_the_cluster(demo_site):
    """The county's admin makes a school's reporting account; the school, after changing the password it was
    given, files a report and reads its own reports and their stage, nothing else; the county sees the reporter."""
    from datetime import timedelta

    from tenant_app import clock

    client = demo_site["app"].test_client()
    township = demo_site["accounts"]["town_staff"][2]
    village = demo_site["accounts"]["village_staff"][2]
    made = client.post("/api/v1/users", headers=_token(client, "county_admin"), json={
        "username": "xinhua_school", "real_name": "李老师", "phone": "13900000001", "role": "reporter",
        "unit_code": township, "password": "Partner-2026x", "org_kind": "school", "org_name": "新华小学"})
    assert made.status_code == 201, made.get_data(True)[:500]
    issued = client.post("/api/v1/auth/token", json={"username": "xinhua_school", "password": "Partner-2026x"})
    school = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    changed = client.post("/api/v1/me/password", headers=school, json={
        "current_password": "Partner-2026x", "new_password": "Partner-2027y!"})
    assert changed.status_code == 200, changed.get_data(True)[:500]
    filed = client.post("/api/v1/reports", headers=school, json={
        "category": "living_alone", "urgency": "normal", "village_code": village,
        "occurred_at": (clock.now() - timedelta(hours=5)).isoformat(), "narrative": "学生连续三天无人接送。",
        "unknown_child_description": "四年级男生", "reporter_kind": "school", "reporter_name": "李老师",
        "reporter_contact": "13900001234"})
    assert filed.status_code == 201, filed.get_data(True)[:500]
    case = filed.get_json()
    own = client.get("/api/v1/reports", headers=school)
    assert own.status_code == 200, own.get_data(True)[:500]
    assert [(r["case_id"], r["stage"]) for r in own.get_json()["items"]] == [(case["id"], "reported")]
    assert client.get("/api/v1/children", headers=school).status_code in (403, 404)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=school).status_code in (403, 404)
    county_view = client.get(f"/api/v1/cases/{case['id']}", headers=_token(client, "county_staff")).get_json()
    assert county_view["reporter"]["kind"] == "school" and "新华小学" in county_view["reporter"]["name"]


@pytest.mark.parametrize("username", ["prov_staff", "county_staff", "town_staff", "village_staff", "county_edu"])
def test_every_page_again_after_the_days_work(demo_site, username):
    """The crawl once more, now that the cluster holds what the tests above wrote (records moved and imported,
    answers approved, cases and their escalation, rolls, matches, worklists and a verification campaign)."""
    _crawl_as(demo_site, username)
