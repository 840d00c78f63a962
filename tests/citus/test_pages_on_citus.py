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


@pytest.mark.parametrize("username", ACCOUNTS)
def test_every_page_of_a_demo_account_on_the_cluster(demo_site, username):
    from tenant_app.cli import DEMO_PASSWORD

    crawler, result = demo_site["crawler"], CrawlResult()
    client = demo_site["app"].test_client()
    result.problems += crawler.login(client, username, DEMO_PASSWORD, result)
    crawler.crawl(client, "zh", result, start=(f"/campaigns/{demo_site['campaign']}/track",))
    # A partner department has a few pages of its own; every staff account many.
    assert len(result.visits) > (5 if username == "county_edu" else 10), [v.url for v in result.visits]
    assert not result.problems, "\n".join(result.problems[:40])


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
