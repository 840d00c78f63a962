"""A county officer opens the dashboard in a real browser (Debian's headless chromium): ECharts draws both
charts from the page's own data, the townships table sorts by a column, the bar chart follows the chosen figure,
a township drills down to its villages, and the phone layout fits the screen."""

from __future__ import annotations

import random
import uuid
from datetime import date
from pathlib import Path

import pytest

from tests.committed import figures_preserved
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture)
from tests.test_children_api import child_payload, make_id

pytestmark = pytest.mark.browser

XINHUA, XILIAN = "440203001", "440203100"
WUZULU, BIGUIYUAN = "440203001002", "440203100001"


@pytest.fixture
def committed_county(_app, pg_url, live_users):
    """Committed children (新华街道: one; 西联镇: two, one of them unattended) and the county's roll-up. Afterwards
    the children, the extra director and their outbox rows are deleted and the stored figures put back exactly as
    they were, so later tests of the session see the tree as they left it."""
    from sqlalchemy import create_engine, text

    from hierarchy.scope import Scope, apply_db_scope
    from sync import rollup
    from tenant_app.auth.models import User
    from tenant_app.db import db
    from tests.conftest import PASSWORD, _hash

    owner = create_engine(pg_url)
    tag = uuid.uuid4().hex[:6]
    director = f"dash_{tag}"
    try:
        with figures_preserved(owner):
            try:
                with _app.app_context(), db.session_scope(Scope(all_tenants=True)) as session:
                    session.add(User(region_code=BIGUIYUAN, username=director, role="staff",
                                     password_hash=_hash(PASSWORD), real_name="看板主任", phone="13900000001"))
                client = _app.test_client()

                def headers(username: str) -> dict:
                    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
                    assert response.status_code == 201, response.get_json()
                    return {"Authorization": f"Bearer {response.get_json()['token']}"}

                def add(auth: dict, n: int, **overrides) -> None:
                    born = date(2015, random.randint(1, 12), random.randint(1, 28))
                    # an odd sequence number: a boy, as in the payload
                    number = make_id(birth=born.strftime("%Y%m%d"), seq=f"{2 * random.randint(250, 499) + 1:03d}")
                    payload = child_payload(name=f"看板{tag}{n}", id_number=number, birth_date=born.isoformat(),
                                            **overrides)
                    response = client.post("/api/v1/children", json=payload, headers=auth)
                    assert response.status_code == 201, response.get_json()

                add(headers(live_users["village"]), 1)
                xilian = headers(director)
                add(xilian, 2)
                add(xilian, 3, guardian_name="", guardian_relationship="", guardian_phone="")
                with owner.begin() as conn:
                    apply_db_scope(conn, Scope(all_tenants=True))
                    rollup.rebuild(conn, "440203")
                yield
            finally:
                with owner.begin() as conn:
                    ids = [r[0] for r in conn.execute(text("SELECT id FROM children WHERE name LIKE :n"),
                                                      {"n": f"看板{tag}%"})]
                    if ids:
                        conn.execute(text("DELETE FROM audit_events WHERE child_id = ANY(:ids)"), {"ids": ids})
                        conn.execute(text("DELETE FROM children WHERE id = ANY(:ids)"), {"ids": ids})
                    conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": director})
    finally:
        owner.dispose()


def row_codes(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [r.get_attribute("data-code") for r in driver.find_elements(By.CSS_SELECTOR, "#units-table tr.unit-row")]


CHART_READY = ("var el = document.getElementById(arguments[0]);"
               "var chart = window.echarts && el && echarts.getInstanceByDom(el);"
               "return !!chart && el.querySelector('canvas') !== null;")


def test_county_officer_sorts_the_townships_and_drills_down(browser, live_server, live_users,  # noqa: F811
                                                            committed_county, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    log_in(browser, live_server, live_users["county"])
    browser.find_element(By.ID, "nav-dashboard").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.rstrip("/").endswith("/dashboard"))
    assert "武江区" in browser.find_element(By.ID, "dashboard-title").text
    assert "数据截至" in browser.find_element(By.ID, "as-of").text
    unattended_card = browser.find_element(By.CSS_SELECTOR, '#key-figures [data-key="unattended"] .kf-n')
    assert int(unattended_card.text) >= 1

    # ECharts (served by the app) created an instance on both chart elements and drew on a canvas
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(CHART_READY, "trend-chart"))
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(CHART_READY, "units-chart"))
    assert browser.execute_script("return typeof echarts.version") == "string"
    browser.save_screenshot(str(Path(tmp_path) / "dashboard-county.png"))

    # the townships table: code order first, then by unattended children, largest first
    before = row_codes(browser)
    assert before == sorted(before) and before[0] == XINHUA
    browser.find_element(By.CSS_SELECTOR, '#units-table th[data-key="unattended"] a').click()
    after = row_codes(browser)
    assert after != before and after[0] == XILIAN
    assert sorted(after) == sorted(before)
    header = browser.find_element(By.CSS_SELECTOR, '#units-table th[data-key="unattended"]')
    assert header.get_attribute("aria-sort") == "descending"
    assert "sort=unattended" in browser.current_url and "dir=desc" in browser.current_url
    browser.find_element(By.CSS_SELECTOR, '#units-table th[data-key="unattended"] a').click()
    assert row_codes(browser)[-1] == XILIAN and header.get_attribute("aria-sort") == "ascending"

    # the bar chart follows the chosen figure
    Select(browser.find_element(By.ID, "units-indicator")).select_by_value("children_total")
    series = browser.execute_script(
        "var o = echarts.getInstanceByDom(document.getElementById('units-chart')).getOption();"
        "return [o.series[0].name, o.series[0].data, o.yAxis[0].data];")
    assert series[0] == "在册儿童"
    bars = dict(zip(series[2], series[1], strict=True))
    assert bars["西联镇"] >= 2 and bars["新华街道"] >= 1

    # drill down: the township's own dashboard with its villages
    browser.find_element(By.CSS_SELECTOR, f'#units-table tr[data-code="{XILIAN}"] a').click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(f"/dashboard/{XILIAN}"))
    assert "西联镇" in browser.find_element(By.ID, "dashboard-title").text
    village = browser.find_element(By.CSS_SELECTOR, f'#units-table tr[data-code="{BIGUIYUAN}"]')
    assert village.find_element(By.CSS_SELECTOR, 'td[data-key="children_total"]').get_attribute("data-value") == "2"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(CHART_READY, "units-chart"))

    # phones: the table becomes cards, the charts shrink to the screen, nothing wider than the screen
    browser.set_window_size(375, 812)
    browser.refresh()
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(CHART_READY, "trend-chart"))
    width = browser.execute_script("return window.innerWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    chart_width = browser.execute_script(
        "return echarts.getInstanceByDom(document.getElementById('trend-chart')).getWidth()")
    assert 0 < chart_width <= width
    assert browser.find_element(By.ID, "sort-select").is_displayed()
    browser.save_screenshot(str(Path(tmp_path) / "dashboard-township-375.png"))
