"""Every page, as every user, on real-sized data, in Chinese and in English, before and after a deadline.

The dataset (tests/crawl_data.py) lives in its own database, built once for this module. For each role at each
level of one line of units the crawler logs in through the login page and follows every link and GET form from
the home page (tests/crawler.py): at the open campaign's deadline not yet passed, in Chinese, then after it, in
Chinese and again in English over the same pages. New pages join without test code: they are reached through
links, and a page route without arguments that no user reached fails the coverage test.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tenant_app import clock
from tests import crawl_data as data
from tests.conftest import create_test_database, drop_test_database
from tests.crawler import Checker, Crawler, CrawlResult

USERS = ([(level, role) for level in data.LINE for role in data.ROLES]
         + [(level, "reporter") for level in data.PARTNERS] + [("county", data.DEPARTMENT)])
# Lists that must reach a second page somewhere in the crawl: the dataset is bigger than a page for each.
PAGED_LISTS = {"tasks.list_page", "tasks.review_page", "tasks.census_page", "campaigns.list_page",
               "campaigns.track_page", "visits.due_page", "visits.child_visits", "children.list_page",
               "users.list_page", "cases.queue_page", "cases.overdue_page", "cases.reports_page",
               "roster.roster_page", "roster.people_page", "training.courses_page", "training.course_page",
               "links.rolls_page", "links.upload_page", "links.review_page", "links.worklists_page",
               "links.verification_page"}
# Pages whose content follows the date (deadlines, overdue counts, visits due): crawled before the deadline too.
DATED = ("units.", "tasks.", "campaigns.", "visits.", "stats.", "cases.", "roster.", "training.", "links.",
         "assessment.")


class Site:
    def __init__(self, app, info, build_seconds, checker):
        self.app, self.info, self.build_seconds, self.checker = app, info, build_seconds, checker
        self.results: dict[tuple[str, str], CrawlResult] = {}
        self.seconds: dict[tuple[str, str], float] = {}
        self.crawler = Crawler(app, checker)


def _data_strings(app) -> set[str]:
    """What the database holds that a page may show as it is: names, titles, labels, messages."""
    from tenant_app.db import db

    queries = ("SELECT name FROM units", "SELECT username FROM users", "SELECT real_name FROM users",
               "SELECT name FROM children", "SELECT title FROM campaigns", "SELECT filename FROM campaign_attachments",
               "SELECT message FROM notifications", "SELECT note FROM campaign_receipts",
               "SELECT return_reason FROM tasks WHERE return_reason <> '' GROUP BY return_reason",
               "SELECT school_name FROM children GROUP BY school_name",
               "SELECT sender_name FROM notifications GROUP BY sender_name",
               "SELECT org_name FROM users GROUP BY org_name",
               "SELECT reporter_name FROM reports GROUP BY reporter_name",
               "SELECT narrative FROM reports GROUP BY narrative",
               "SELECT unknown_child_description FROM reports GROUP BY unknown_child_description",
               "SELECT screen_out_reason FROM cases GROUP BY screen_out_reason",
               "SELECT outcome_summary FROM cases GROUP BY outcome_summary",
               "SELECT name FROM roster_people", "SELECT coverer_name FROM roster_covers",
               "SELECT other_post FROM roster_appointments GROUP BY other_post",
               "SELECT leave_reason FROM roster_appointments GROUP BY leave_reason",
               "SELECT title FROM training_courses", "SELECT certificate_no FROM training_attendance",
               "SELECT name FROM roll_rows GROUP BY name", "SELECT filename FROM roll_uploads",
               "SELECT org_name FROM users GROUP BY org_name")
    found: set[str] = set()
    with app.app_context(), db.engine.connect() as conn:
        from hierarchy.scope import Scope, apply_db_scope

        apply_db_scope(conn, Scope(all_tenants=True))
        for sql in queries:
            found.update(str(v) for v in conn.execute(text(sql)).scalars() if v)
        for (questions,) in conn.execute(text("SELECT questions FROM campaigns")):
            for q in questions or []:
                found.add(q.get("label") or "")
                found.update(q.get("options") or [])
    found.update(v for q in data.QUESTIONS + data.CENSUS_QUESTIONS for v in [q["label"], *q.get("options", [])])
    found.update(str(v) for v in data.ANSWERS.values() if isinstance(v, str))
    found.update(data.ANSWERS["risks"])
    return found


def _enum_words() -> set[str]:
    """Coded values a page must never show as they are stored (on a Chinese page)."""
    from tenant_app.campaigns import views as campaign_views
    from tenant_app.cases import enums as case_enums
    from tenant_app.children import enums
    from tenant_app.links import enums as link_enums
    from tenant_app.tasks import views as task_views

    words: set[str] = set()
    for mapping in (campaign_views.KIND_NAMES, campaign_views.STATUS_NAMES, task_views.STATUS_LABELS,
                    task_views.STEP_LABELS, case_enums.STAGES, case_enums.CATEGORIES, case_enums.URGENCIES,
                    case_enums.ACTION_KINDS, case_enums.OUTCOMES, link_enums.DEPT_KINDS, link_enums.ROLL_KINDS,
                    link_enums.MATCH_STATUSES, link_enums.UPLOAD_STATUSES, link_enums.RUN_STATUSES):
        words.update(mapping)
    for value in vars(enums).values():
        if isinstance(value, dict):
            words.update(k for k in value if isinstance(k, str))
    words.update({"admin", "staff", "viewer", "pending", "overdue", "due_soon"})
    return {w for w in words if w.isascii() and w.isalpha()}


@pytest.fixture(scope="module")
def site():
    from tenant_app import create_app
    from tenant_app.db import db
    from tenant_app.migrate import upgrade

    url = create_test_database("shouhu_crawl")
    saved = (db.engine, db.url, db.app_role, db._sessionmaker, db._bind_override)
    db.engine, db._bind_override = None, None
    try:
        upgrade(url)
        # Errors answer 500 as in production (the crawler reports them with the exception), not raise.
        app = create_app({"SHOUHU_DATABASE_URL": url, "TESTING": True, "PROPAGATE_EXCEPTIONS": False,
                          "SECRET_KEY": "crawl-secret", "SHOUHU_REDIS_URL": None})
        started = time.perf_counter()
        info = data.build(app)
        build_seconds = time.perf_counter() - started
        yield Site(app, info, build_seconds, Checker(_data_strings(app), _enum_words()))
    finally:
        if db.engine is not None and db.engine is not saved[0]:
            db.engine.dispose()
        db.engine, db.url, db.app_role, db._sessionmaker, db._bind_override = saved
        drop_test_database(url)


def crawl_user(site: Site, level: str, role: str) -> CrawlResult:
    key = (level, role)
    if key in site.results:
        return site.results[key]
    started = time.perf_counter()
    crawler = site.crawler
    result = CrawlResult()
    username = data.username(level, role)
    with clock.frozen(data.AFTER):
        client = site.app.test_client()
        result.problems += crawler.login(client, username, data.PASSWORD, result)
        # The past-due census: its tracking page and a big village's check-list are longer than one page.
        start = (f"/campaigns/{site.info['province_campaigns']['past_due']}/track",
                 f"/tasks/{site.info['census_task']}/census")
        fetched = crawler.crawl(client, "zh", result, start=start)
        client.set_cookie("lang", "en")
        crawler.crawl(client, "en", result, urls=fetched)
    # Before the deadline: the pages whose content follows the date, once more.
    crawled = [v for v in result.visits if v.url != "/login"]  # the visits of `fetched`, in order
    dated = [u for u, v in zip(fetched, crawled, strict=False)
             if v.endpoint and v.endpoint.startswith(DATED) and v.content_type == "text/html"]
    with clock.frozen(data.BEFORE):
        client = site.app.test_client()
        result.problems += crawler.login(client, username, data.PASSWORD)
        crawler.crawl(client, "zh", result, urls=dated)
    site.results[key] = result
    site.seconds[key] = time.perf_counter() - started
    return result


def test_the_dataset_is_real_sized(site):
    from tenant_app.db import db

    # The build time is reported, not asserted: speed is checked by benchmarks, not by timed tests.
    print(f"\ncrawl dataset built in {site.build_seconds:.1f} s: {site.info['timings']}")
    sql = {
        "children due in the township": f"SELECT count(*) FROM children WHERE region_code LIKE '{data.TOWNSHIP}%'",
        "children of the village": f"SELECT count(*) FROM children WHERE region_code = '{data.VILLAGE}'",
        "tasks of the village": f"SELECT count(*) FROM tasks WHERE region_code = '{data.VILLAGE}'",
        "overdue villages of the county (past-due campaign)":
            f"SELECT count(*) FROM tasks WHERE campaign_id = {site.info['province_campaigns']['past_due']} "
            f"AND region_code LIKE '{data.COUNTY}%' AND status IN ('pending', 'draft', 'returned')",
        "campaigns issued by the county": f"SELECT count(*) FROM campaigns WHERE issuer_code = '{data.COUNTY}'",
        "users of the county": f"SELECT count(*) FROM users WHERE region_code LIKE '{data.COUNTY}%'",
        "notifications of the village": f"SELECT count(*) FROM notifications WHERE region_code = '{data.VILLAGE}'",
        "transfers": "SELECT count(*) FROM child_transfers",
        "audit rows": "SELECT count(*) FROM audit_events",
        "cases of the village": f"SELECT count(*) FROM cases WHERE region_code = '{data.VILLAGE}'",
        "roster people of the county": f"SELECT count(*) FROM roster_people WHERE region_code LIKE '{data.COUNTY}%'",
        "courses of the county": f"SELECT count(*) FROM training_courses WHERE region_code = '{data.COUNTY}'",
        "reports of the township's school": "SELECT count(*) FROM reports r JOIN users u ON u.id = r.reporter_user_id "
                                            "WHERE u.username = 'crawl-township-reporter'",
    }
    with site.app.app_context(), db.engine.connect() as conn:
        from hierarchy.scope import Scope, apply_db_scope

        apply_db_scope(conn, Scope(all_tenants=True))
        counts = {name: conn.execute(text(q)).scalar() for name, q in sql.items()}
        states = set(conn.execute(text("SELECT status FROM campaigns")).scalars())
        past_due = conn.execute(text("SELECT count(*) FROM campaigns WHERE status = 'open' AND due_on < :d"),
                                {"d": data.TODAY}).scalar()
    assert all(n > 50 for n in counts.values()), counts
    assert states == {"draft", "publishing", "open", "closed"} and past_due > 0


@pytest.mark.parametrize(("level", "role"), USERS, ids=[f"{lv}-{r}" for lv, r in USERS])
def test_every_page_as_every_user(site, level, role):
    result = crawl_user(site, level, role)
    assert len(result.visits) > 10, [v.url for v in result.visits]
    assert not result.problems, "\n".join(result.problems[:60])


def test_every_page_route_is_reached_and_lists_reach_their_second_page(site):
    for level, role in USERS:
        crawl_user(site, level, role)
    reached = set().union(*(r.endpoints for r in site.results.values()))
    page_routes = {rule.endpoint for rule in site.app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/api/")
                   and rule.endpoint != "static"}
    assert page_routes - reached == set(), "page routes no user reached through links"
    second_pages = set().union(*(r.pages_beyond_first() for r in site.results.values()))
    assert PAGED_LISTS - second_pages == set(), "lists whose second page was never shown"
    total = sum(site.seconds.values())
    pages = sum(len(r.visits) for r in site.results.values())
    print(f"\ncrawl: {pages} fetches by {len(USERS)} users in {total:.1f} s; dataset {site.build_seconds:.1f} s")
