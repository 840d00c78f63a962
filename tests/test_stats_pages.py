"""Dashboard pages: a county's figures and its townships side by side (sortable, drill-down to the villages),
the change since last month, staff coverage, the Excel export, the village home panel, the English page, the
vendored ECharts, and nothing outside the caller's subtree."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from hierarchy.scope import Scope, apply_db_scope, scoped
from sync import rollup
from tenant_app.clock import CST, frozen, today_cst
from tests.tasks_factories import make_campaign  # noqa: F401  (the campaign factory fixture)
from tests.test_children_api import child_payload, make_id

COUNTY = "440203"  # 武江区
XINHUA = "440203001"  # 新华街道
XILIAN = "440203100"  # 西联镇
WUZULU = "440203001002"  # 五祖路社区居民委员会 (新华街道)
HUIMIN = "440203001003"  # 惠民西社区居民委员会 (新华街道)
BIGUIYUAN = "440203100001"  # 碧桂园太阳城社区居民委员会 (西联镇)
SIBLING_COUNTY = "440204"  # 浈江区


@pytest.fixture
def rebuild(db_connection):
    """Run the roll-up over the whole tree in the test's transaction, as the job does (all tenants)."""

    def run(unit_code: str | None = None):
        with scoped(Scope(all_tenants=True)), db_connection.begin_nested():
            apply_db_scope(db_connection, Scope(all_tenants=True))
            return rollup.rebuild(db_connection, unit_code)

    return run


@pytest.fixture
def add_child(client, make_user, token_for):
    """add_child(village, seq, **overrides): a child record created by the village's director."""
    directors: dict[str, dict] = {}

    def add(village: str, seq: str, **overrides) -> dict:
        if village not in directors:
            directors[village] = token_for(make_user(village, "staff").username)
        payload = child_payload(id_number=make_id(seq=seq), **overrides)
        response = client.post("/api/v1/children", json=payload, headers=directors[village])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return add


@pytest.fixture
def county_children(add_child, rebuild):
    """Three children in 新华街道 (one unattended) and one in 西联镇, rolled up; previous month's snapshot taken
    before the last child was added, so the change since last month is +1 child in 西联镇."""
    add_child(WUZULU, "013")
    unattended = add_child(WUZULU, "023", guardian_name="", guardian_relationship="", guardian_phone="")
    assert unattended["unattended"] is True
    add_child(HUIMIN, "033")
    last_month = datetime.combine(today_cst().replace(day=1) - timedelta(days=3), datetime.min.time(), tzinfo=CST)
    with frozen(last_month.replace(hour=12)):
        rebuild()
    add_child(BIGUIYUAN, "043")
    rebuild()


@pytest.fixture
def county_user(client, make_user, login):
    user = make_user(COUNTY, "viewer")
    login(client, user.username)
    return user


def unit_rows(html: str) -> list[tuple[str, dict[str, str]]]:
    """The child units' table: [(code, {indicator: value})] in the page's order."""
    rows = re.findall(r'<tr class="unit-row" data-code="(\d+)">(.*?)</tr>', html, re.S)
    return [(code, dict(re.findall(r'data-key="(\w+)" data-value="([^"]*)"', body))) for code, body in rows]


def card(html: str, key: str) -> tuple[int, str | None]:
    """A key figure card's value and its change text (None on the home panel, which has none)."""
    match = re.search(rf'<div class="kf[^"]*" data-key="{key}">(.*?)</div>', html, re.S)
    assert match, key
    value = int(re.search(r'class="kf-n" data-value="(-?\d+)"', match.group(1)).group(1))
    delta = re.search(r'class="kf-delta[^"]*"[^>]*>([^<]*)<', match.group(1))
    return value, delta.group(1).strip() if delta else None


def chart_json(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_county_dashboard_totals_townships_and_change_since_last_month(client, county_children, county_user):
    response = client.get("/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "武江区 · 全县(区)数据看板" in html
    assert card(html, "children_total") == (4, "较上月 +1")
    assert card(html, "left_behind") == (4, "较上月 +1")
    assert card(html, "unattended") == (1, "与上月持平")
    assert card(html, "high_risk")[0] >= 1
    assert re.search(r'id="as-of">数据截至 \d{4}-\d\d-\d\d \d\d:\d\d<', html)

    rows = dict(unit_rows(html))
    assert rows[XINHUA]["children_total"] == "3" and rows[XINHUA]["unattended"] == "1"
    assert rows[XILIAN]["children_total"] == "1" and rows[XILIAN]["unattended"] == "0"
    assert rows[XINHUA]["left_behind"] == "3" and rows[XILIAN]["left_behind"] == "1"
    others = [figures for code, figures in rows.items() if code not in (XINHUA, XILIAN)]
    assert others and all(f["children_total"] == "0" for f in others)
    assert "各乡镇(街道)情况" in html and "新华街道" in html and "西联镇" in html
    # Each township links to its own dashboard (the drill-down), and its unattended figure to those children
    assert f'href="/dashboard/{XINHUA}"' in html and f'href="/dashboard/{XILIAN}"' in html
    assert f'href="/children/unattended?unit={XINHUA}"' in html
    assert f'href="/children/unattended?unit={XILIAN}"' not in html  # none there
    listing = client.get(f"/children/unattended?unit={XINHUA}").get_data(as_text=True)
    assert re.search(r'id="total">共 1<', listing)

    data = chart_json(html)
    names = data["units"]["names"]
    assert data["units"]["indicators"]["unattended"]["data"][names.index("新华街道")] == 1
    assert data["trend"]["months"][-1] == today_cst().strftime("%Y-%m")
    children_series = {s["key"]: s["data"] for s in data["trend"]["series"]}
    assert children_series["left_behind"][-2:] == [3, 4]


def test_townships_sort_by_unattended_and_by_overdue_visits(client, county_children, county_user):
    def order(**args) -> list[str]:
        response = client.get(f"/dashboard/{COUNTY}", query_string=args)
        assert response.status_code == 200
        return [code for code, _ in unit_rows(response.get_data(as_text=True))]

    by_code = order()
    assert by_code == sorted(by_code)
    most_unattended = order(sort="unattended", dir="desc")
    assert most_unattended[0] == XINHUA
    assert order(sort="unattended", dir="asc")[-1] == XINHUA
    assert order(sort="children_total")[:2] == [XINHUA, XILIAN]  # numbers: largest first by default
    html = client.get(f"/dashboard/{COUNTY}?sort=visits_overdue").get_data(as_text=True)
    assert 'data-key="visits_overdue" data-type="number" aria-sort="descending"' in html
    # the unknown column falls back to the code order
    assert order(sort="nonsense") == by_code


def test_which_townships_have_not_visited_their_high_risk_children(client, county_children, county_user,
                                                                     rebuild):
    # Forty days on, nobody has visited: the unattended child (high risk, due every 30 days) is overdue, the
    # others (low risk) are not yet.
    with frozen(datetime.now(CST) + timedelta(days=40)):
        rebuild()
        html = client.get(f"/dashboard/{COUNTY}?sort=visits_overdue").get_data(as_text=True)
        rows = unit_rows(html)
        assert rows[0][0] == XINHUA and rows[0][1]["visits_overdue"] == "1"
        assert all(figures["visits_overdue"] == "0" for _, figures in rows[1:])
        link = f"/visits/due?status=overdue&amp;unit={XINHUA}"
        assert f'href="{link}"' in html
        due = client.get(link.replace("&amp;", "&"))
        assert due.status_code == 200
        assert due.get_data(as_text=True).count('class="due-row"') == 1 and WUZULU in due.get_data(as_text=True)


def test_drill_down_to_township_and_village(client, county_children, county_user):
    html = client.get(f"/dashboard/{XINHUA}").get_data(as_text=True)
    assert "新华街道 · 全乡镇(街道)数据看板" in html
    assert card(html, "children_total")[0] == 3
    rows = dict(unit_rows(html))
    assert rows[WUZULU]["children_total"] == "2" and rows[WUZULU]["unattended"] == "1"
    assert rows[HUIMIN]["children_total"] == "1"
    assert rows[WUZULU]["villages_with_director"] == "1"  # the village's director
    assert "各村(居)情况" in html
    assert f'href="/dashboard/{COUNTY}"' in html  # the way back up (breadcrumbs and button)

    village = client.get(f"/dashboard/{WUZULU}").get_data(as_text=True)
    assert "五祖路社区居民委员会 · 本村(居)数据看板" in village
    assert card(village, "children_total")[0] == 2 and card(village, "unattended")[0] == 1
    assert 'id="units-table"' not in village  # a village has no child units


def test_staff_coverage(client, county_children, county_user, scoped_sql):
    villages = scoped_sql(COUNTY, "SELECT count(*) FROM units WHERE level = 5 AND NOT retired "
                                  "AND code LIKE '440203%'")[0][0]
    html = client.get("/dashboard").get_data(as_text=True)
    coverage = re.search(r'data-key="villages_with_director">(.*?)</div>\s*</div>', html, re.S).group(1)
    covered = int(re.search(r'class="coverage-n">(\d+)<', coverage).group(1))
    assert 3 <= covered < villages  # the three directors made above; not every village has one
    assert f'class="coverage-total">{villages}<' in coverage
    assert f"{100 * covered / villages:.1f}%" in coverage
    assert 'data-key="townships_with_supervisor"' in html


def test_outside_the_subtree_is_404(client, county_children, county_user):
    assert client.get(f"/dashboard/{SIBLING_COUNTY}").status_code == 404
    assert client.get("/dashboard/4402").status_code == 404  # the city above: its figures hold the siblings'
    assert client.get("/dashboard/44020").status_code == 404  # not a code
    assert client.get(f"/dashboard/{SIBLING_COUNTY}/export.xlsx").status_code == 404
    assert "浈江区" not in client.get("/dashboard").get_data(as_text=True)


def test_township_user_cannot_see_another_township(client, county_children, make_user, login):
    login(client, make_user(XILIAN, "staff").username)
    assert client.get(f"/dashboard/{XINHUA}").status_code == 404
    html = client.get("/dashboard").get_data(as_text=True)
    assert card(html, "children_total")[0] == 1


def test_export_is_an_xlsx_with_the_figures(client, county_children, county_user):
    from openpyxl import load_workbook

    response = client.get(f"/dashboard/{COUNTY}/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    total, unattended = header.index("在册儿童"), header.index("无人监护")
    by_code = {r[0]: r for r in rows[1:] if r and r[0]}
    assert by_code[COUNTY][total] == 4 and by_code[COUNTY][unattended] == 1
    assert by_code[XINHUA][total] == 3 and by_code[XINHUA][1] == "新华街道"
    assert by_code[XILIAN][total] == 1
    assert SIBLING_COUNTY not in by_code


def test_echarts_is_served_by_the_app(client, county_children, county_user):
    html = client.get("/dashboard").get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert "/static/vendor/echarts/echarts.min.js" in sources and "/static/stats.js" in sources
    assert all(s.startswith("/static/") for s in sources)  # no CDN
    for path in sources:
        response = client.get(path)
        assert response.status_code == 200
        assert "javascript" in response.mimetype
    assert b"echarts" in client.get("/static/vendor/echarts/echarts.min.js").data[:2000].lower()
    assert client.get("/static/vendor/echarts/LICENSE").status_code == 200


def test_village_home_shows_its_own_figures(client, county_children, make_user, login):
    login(client, make_user(WUZULU, "viewer").username)
    html = client.get("/").get_data(as_text=True)
    panel = re.search(r'id="home-figures">(.*?id="home-dashboard"[^>]*>)', html, re.S).group(1)
    assert card(panel, "children_total") == (2, None)
    assert card(panel, "unattended") == (1, None)
    assert 'href="/dashboard"' in panel
    assert 'id="nav-dashboard"' in html


def test_home_panel_before_any_roll_up(client, make_user, login, db_connection):
    login(client, make_user(HUIMIN, "viewer").username)
    # A new user's unit is recomputed at once (staff coverage): take its figures away again, as before any roll-up.
    with scoped(Scope(all_tenants=True)), db_connection.begin_nested():
        apply_db_scope(db_connection, Scope(all_tenants=True))
        for table in ("unit_stats_monthly", "unit_stats"):
            db_connection.execute(text(f"DELETE FROM {table} WHERE unit_code = :c"), {"c": HUIMIN})
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-figures"' in html and "尚未统计" in html
    page = client.get("/dashboard").get_data(as_text=True)
    assert "尚未统计" in page and card(page, "children_total") == (0, "上月无数据")


def test_english_labels(client, county_children, county_user):
    html = client.get("/dashboard?lang=en").get_data(as_text=True)
    for text_ in ("County dashboard", "By township", "Unattended", "Children on the register", "Figures as of",
                  "vs last month", "Staff coverage", "Export to Excel", "Villages with a children&#39;s director"):
        assert text_ in html, text_
    assert "全县(区)数据看板" not in html and "数据截至" not in html
    data = chart_json(html)
    assert {s["name"] for s in data["trend"]["series"]} >= {"Unattended", "High risk"}
    response = client.get(f"/dashboard/{COUNTY}/export.xlsx?lang=en")
    from openpyxl import load_workbook

    header = next(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert "Unattended" in header


def test_trend_leaves_a_gap_for_a_month_without_figures(client, county_children, county_user, rebuild):
    first = today_cst().replace(day=1)
    for _ in range(3):
        first = (first - timedelta(days=1)).replace(day=1)
    with frozen(datetime.combine(first, datetime.min.time(), tzinfo=CST).replace(hour=12)):
        rebuild()
    trend = chart_json(client.get("/dashboard").get_data(as_text=True))["trend"]
    assert len(trend["months"]) == 4 and trend["months"][0] == first.strftime("%Y-%m")
    series = {s["key"]: s["data"] for s in trend["series"]}
    assert series["left_behind"] == [4, None, 3, 4]  # the four children existed when that month was rolled up


def test_open_campaigns_progress(client, county_children, county_user, rebuild, make_campaign):  # noqa: F811
    made = make_campaign(villages=(WUZULU, HUIMIN, BIGUIYUAN), title="看板排查行动",
                         due_on=today_cst() - timedelta(days=2))
    rebuild()
    html = client.get("/dashboard").get_data(as_text=True)
    row = re.search(rf'<tr class="campaign-row" data-campaign-id="{made.id}">(.*?)</tr>', html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[0] == "看板排查行动"
    assert cells[2:5] == ["3", "0", "3"]  # tasks, approved, overdue
    assert cells[5] == "0.0%" and cells[6] == "—"  # nothing done yet: no on-time rate
    township = client.get(f"/dashboard/{XILIAN}").get_data(as_text=True)
    assert re.search(rf'data-campaign-id="{made.id}">.*?<td[^>]*class="num">1</td>', township, re.S)
