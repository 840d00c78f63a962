"""Phone first, checked in a real browser (Debian's headless chromium at 390×844): the pages a village director
uses and the county's campaign tracking fit the screen with real-sized lists (no sideways scrolling, no table
squeezed to one character a column, full-width inputs, choices beside their labels, a menu that collapses to one
row), the village home stays light, and the same pages still read well on a desktop screen."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from tests import phone_world as W
from tests.committed import committed_world
from tests.phone_checks import DESKTOP, PHONE, TRANSFER, assert_fits, check_choices
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture, wrapped below)

pytestmark = pytest.mark.browser

BUDGET = 200 * 1024  # first view of a village director's home, everything included


@pytest.fixture(scope="module")
def world(_app, pg_url, live_server, live_users):
    from tests.conftest import PASSWORD, _hash

    def build(owner, tag):
        return W.build(_app, owner, tag, live_users["county"], PASSWORD, _hash(PASSWORD))

    with committed_world(pg_url, build, W.tear_down) as made:
        yield made


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: SHOUHU_SCREENSHOTS if set (to look at them), else the test's temporary folder."""
    folder = Path(os.environ.get("SHOUHU_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def chrome(browser):  # noqa: F811
    """The shared browser, patient with a busy machine: a starved renderer answers late, not never."""
    browser.set_page_load_timeout(180)
    browser.set_script_timeout(180)
    return browser


def phone(driver) -> None:
    """A phone's screen through the DevTools protocol (resizing a headless window can stall its renderer)."""
    set_screen(driver, *PHONE)
    assert driver.execute_script("return window.innerWidth") == PHONE[0]


def set_screen(driver, width: int, height: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def open_page(driver, url: str, ready: str):
    from selenium.webdriver.common.by import By

    driver.get(url)
    return driver.find_element(By.CSS_SELECTOR, ready)


def test_village_director_pages_fit_a_phone(chrome, live_server, world, shots):
    from selenium.webdriver.common.by import By

    phone(chrome)
    log_in(chrome, live_server, world.director)
    base = live_server

    assert_fits(chrome, "phone-home", shots)
    home = chrome.find_element(By.ID, "home-tasks").text
    assert "专项排查" in home and "摸底排查" in home
    assert "请尽快完成寒假安全排查" in chrome.find_element(By.ID, "notifications").text

    open_page(chrome, f"{base}/tasks", "#task-list")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#task-list tr.task-row")) >= 2
    assert_fits(chrome, "phone-tasks", shots)

    # the task form: radios (yes/no), checkboxes (multi choice), a select, a number, a date and a textarea
    open_page(chrome, f"{base}/tasks/{world.task_id}", "#task-form")
    radios = chrome.find_elements(By.CSS_SELECTOR, "#task-form input[type=radio]")
    boxes = chrome.find_elements(By.CSS_SELECTOR, "#task-form input[type=checkbox]")
    assert len(radios) == 2 and len(boxes) == 6
    assert chrome.find_element(By.ID, "q-notes").tag_name == "textarea"
    assert_fits(chrome, "phone-task-form", shots)
    choices = {c["id"] for c in check_choices(chrome) if c["label"]}
    assert {"q-all_visited-yes", "q-all_visited-no", "q-risks_found-1", "q-risks_found-6"} <= choices
    # answering by tapping the labels works with a finger-sized target
    chrome.find_element(By.CSS_SELECTOR, "label:has(#q-all_visited-yes)").click()
    assert chrome.find_element(By.ID, "q-all_visited-yes").is_selected()
    chrome.find_element(By.CSS_SELECTOR, "label:has(#q-risks_found-3)").click()
    assert chrome.find_element(By.ID, "q-risks_found-3").is_selected()
    notes = chrome.find_element(By.ID, "q-notes").rect
    form = chrome.find_element(By.ID, "task-form").rect
    assert notes["width"] >= form["width"] - 2  # the textarea is as wide as the form

    open_page(chrome, f"{base}/tasks/{world.census_task_id}/census", "#census-list")
    rows = chrome.find_elements(By.CSS_SELECTOR, "#census-list tr.census-row")
    assert len(rows) == W.N_CHILDREN
    assert W.LONG_NAMES[0] in chrome.find_element(By.ID, "census-list").text
    assert_fits(chrome, "phone-census", shots)
    confirm = chrome.find_element(By.CSS_SELECTOR, "#census-list .confirm-child")
    assert confirm.size["height"] >= 36

    open_page(chrome, f"{base}/children", "#children")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#children tr.child-row")) == W.N_CHILDREN
    assert_fits(chrome, "phone-children", shots)
    # the name is a finger-sized link on its card
    link = chrome.find_element(By.LINK_TEXT, W.LONG_NAMES[1])
    assert link.size["height"] >= 40

    open_page(chrome, f"{base}/children/{world.child_id}", "#record")
    assert_fits(chrome, "phone-child", shots)

    open_page(chrome, f"{base}/children/{world.child_id}/edit", "#child-form")
    assert_fits(chrome, "phone-record-form", shots)
    name_box = chrome.find_element(By.ID, "name").rect
    sex_box = chrome.find_element(By.ID, "sex").rect
    assert sex_box["y"] > name_box["y"] and abs(sex_box["x"] - name_box["x"]) < 2  # one column

    open_page(chrome, f"{base}/children/new", "#child-form")
    assert_fits(chrome, "phone-record-new", shots)

    open_page(chrome, f"{base}/children/{world.child_id}/visits", "#visit-form")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "tr.visit-row")) == 2
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#visit-form input[name=met]")) >= 4
    assert_fits(chrome, "phone-visit-form", shots)
    findings = chrome.find_element(By.ID, "findings").rect
    visit_form = chrome.find_element(By.ID, "visit-form").rect
    assert findings["width"] >= visit_form["width"] - 2

    open_page(chrome, f"{base}/visits/due?status=all", "h1")
    assert_fits(chrome, "phone-due", shots)


def test_menu_collapses_to_one_row_on_a_phone(chrome, live_server, world):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    phone(chrome)
    log_in(chrome, live_server, world.director)
    toggle = chrome.find_element(By.ID, "nav-toggle")
    menu = chrome.find_element(By.ID, "menu")
    assert toggle.is_displayed() and not menu.is_displayed()
    assert toggle.get_attribute("aria-expanded") == "false"
    header = chrome.find_element(By.CSS_SELECTOR, "header.topbar").rect
    assert header["height"] <= 64, f"collapsed header is {header['height']}px high"
    brand = chrome.find_element(By.CSS_SELECTOR, ".brand").rect
    assert abs(brand["y"] - toggle.rect["y"]) < 20 and toggle.size["height"] >= 44  # one row

    toggle.click()
    assert menu.is_displayed() and toggle.get_attribute("aria-expanded") == "true"
    targets = menu.find_elements(By.CSS_SELECTOR, ".mainnav > a") + [chrome.find_element(By.ID, "logout")]
    assert len(targets) >= 6
    for target in targets:
        assert target.is_displayed() and target.size["height"] >= 44, f"{target.text}: {target.size}"
    assert W.DIRECTOR_NAME in chrome.find_element(By.ID, "who").text
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 390

    # the menu works: a tap on 我的任务 opens the list
    chrome.find_element(By.ID, "nav-tasks").click()
    chrome.find_element(By.ID, "task-list")
    assert not chrome.find_element(By.ID, "menu").is_displayed()  # collapsed again on the next page
    chrome.find_element(By.ID, "nav-toggle").click()
    chrome.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    assert not chrome.find_element(By.ID, "menu").is_displayed()

    # on a desktop screen there is no toggle and the menu is always there, on one row
    set_screen(chrome, *DESKTOP)
    chrome.refresh()
    assert not chrome.find_element(By.ID, "nav-toggle").is_displayed()
    nav = chrome.find_element(By.CSS_SELECTOR, ".mainnav")
    assert nav.is_displayed() and all(a.is_displayed() for a in nav.find_elements(By.TAG_NAME, "a"))


def test_county_tracking_fits_a_phone(chrome, live_server, world, shots):
    from selenium.webdriver.common.by import By

    from tenant_app import clock

    phone(chrome)
    log_in(chrome, live_server, world.county)
    track = f"{live_server}/campaigns/{world.questionnaire_id}/track"
    open_page(chrome, track, "#progress-table")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#progress-table tr.progress-row")) == 7  # townships
    assert_fits(chrome, "phone-track-county", shots)
    # the progress table keeps its columns and scrolls sideways inside its own box
    box = chrome.find_element(By.CSS_SELECTOR, "#progress-table").find_element(By.XPATH, "..")
    assert box.value_of_css_property("overflow-x") == "auto"
    assert chrome.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", box)
    assert chrome.find_element(By.CSS_SELECTOR, "#progress-table thead").is_displayed()

    # after the deadline: the township's villages, the overdue ones with their directors
    after = datetime.combine(world.due_on + timedelta(days=3), time(10), tzinfo=clock.CST)
    with clock.frozen(after):
        open_page(chrome, f"{track}?unit={W.TOWNSHIP}", "#progress-table")
        villages = chrome.find_elements(By.CSS_SELECTOR, "#progress-table tr.progress-row")
        overdue = chrome.find_elements(By.CSS_SELECTOR, "#overdue-list tr.overdue-row")
        assert len(villages) == 14 and 5 <= len(overdue) < 14
        assert W.DIRECTOR_NAME in chrome.find_element(By.ID, "overdue-list").text
        assert_fits(chrome, "phone-track-township-overdue", shots)
        phone_link = chrome.find_element(By.CSS_SELECTOR, "#overdue-list a[href^='tel:']")
        assert phone_link.size["height"] >= 40


def test_roster_pages_fit_a_phone(chrome, live_server, world, shots):
    """The county's roster (a full page of vacancies with their cover and days vacant) and a village's roster
    page with its forms, on a phone."""
    from selenium.webdriver.common.by import By

    phone(chrome)
    log_in(chrome, live_server, world.county)
    open_page(chrome, f"{live_server}/roster", "#vacancy-list")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#vacancy-list tr.vacancy-row")) == 50
    assert_fits(chrome, "phone-roster-county", shots)
    open_page(chrome, f"{live_server}/roster/units/{W.VILLAGE}", "#unit-history")
    for form in chrome.find_elements(By.CSS_SELECTOR, "details.card"):
        chrome.execute_script("arguments[0].open = true", form)
    assert_fits(chrome, "phone-roster-village", shots)


def test_village_home_first_view_is_light(chrome, live_server, world):
    phone(chrome)
    log_in(chrome, live_server, world.director)
    chrome.execute_cdp_cmd("Network.enable", {})
    chrome.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})  # a first view: nothing cached
    chrome.get(live_server + "/")
    rows = chrome.execute_script(TRANSFER)
    total = sum(r[1] for r in rows)
    names = [r[0] for r in rows]
    print(f"village home, first view: {total} bytes over {len(rows)} requests: {rows}")
    assert all(r[1] > 0 for r in rows), f"uncounted transfer (served from cache?): {rows}"
    assert total < BUDGET, f"village home transfers {total} bytes: {rows}"
    assert any("pico" in n for n in names) and any("shouhu.css" in n for n in names)
    assert not any("echarts" in n for n in names), names  # the charts library is the dashboard's only


def test_desktop_still_reads_well(chrome, live_server, world, live_users, shots):
    from selenium.webdriver.common.by import By

    set_screen(chrome, *DESKTOP)
    log_in(chrome, live_server, world.director)
    pages = {"home": ("/", "#unit"), "children": ("/children", "#children"),
             "record-form": (f"/children/{world.child_id}/edit", "#child-form"),
             "task-form": (f"/tasks/{world.task_id}", "#task-form")}
    for name, (path, ready) in pages.items():
        open_page(chrome, live_server + path, ready)
        assert chrome.find_element(By.CSS_SELECTOR, ".mainnav").is_displayed()
        assert_fits(chrome, f"desktop-{name}", shots)
    # a list is a real table again: headers shown, one row a line
    open_page(chrome, f"{live_server}/children", "#children")
    assert chrome.find_element(By.CSS_SELECTOR, "#children thead").is_displayed()
    rows = chrome.find_elements(By.CSS_SELECTOR, "#children tr.child-row")
    assert rows[0].size["height"] < 80
    # the record form uses the width: fields side by side
    open_page(chrome, f"{live_server}/children/{world.child_id}/edit", "#child-form")
    assert chrome.find_element(By.ID, "sex").rect["y"] == chrome.find_element(By.ID, "name").rect["y"]

    chrome.delete_all_cookies()
    log_in(chrome, live_server, world.county)
    open_page(chrome, f"{live_server}/campaigns/{world.questionnaire_id}/track", "#progress-table")
    assert_fits(chrome, "desktop-track", shots)
    open_page(chrome, f"{live_server}/dashboard", "#units-table")
    assert_fits(chrome, "desktop-dashboard", shots)
    phone(chrome)
    chrome.refresh()
    chrome.find_element(By.ID, "units-table")
    assert_fits(chrome, "phone-dashboard", shots)


def test_report_form_and_case_page_fit_a_phone(chrome, live_server, world, shots):
    """A director files a report from the phone (category, urgency, the village already filled in, when, what
    happened, the child described), then the county opens the case and its accept form, all at 390 px."""
    import time as _time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.test_cases_browser import _submit

    phone(chrome)
    log_in(chrome, live_server, world.director)
    started = _time.monotonic()
    open_page(chrome, f"{live_server}/reports/new", "#report-form")
    assert_fits(chrome, "phone-report-form", shots)
    assert any(c["id"] == "urgency" and c["label"] for c in check_choices(chrome))
    assert chrome.find_element(By.ID, "village_code").get_attribute("value") == W.VILLAGE
    Select(chrome.find_element(By.ID, "category")).select_by_value("living_alone")
    chrome.find_element(By.CSS_SELECTOR, "label:has(input[name=urgency][value=emergency])").click()
    chrome.find_element(By.ID, "narrative").send_keys("孩子独自在家三天，父母外出务工联系不上。")
    chrome.find_element(By.ID, "unknown_child_description").send_keys("约9岁男孩")
    _submit(chrome, "#file-report")
    assert _time.monotonic() - started < 60
    case_url = chrome.current_url
    assert "已报告" in chrome.find_element(By.ID, "case-stage").text
    assert_fits(chrome, "phone-case-village", shots)

    chrome.delete_all_cookies()
    log_in(chrome, live_server, world.county)
    open_page(chrome, case_url, "#case-summary")
    assert "约9岁男孩" in chrome.find_element(By.ID, "case-report").text
    chrome.find_element(By.CSS_SELECTOR, "#step-accept summary").click()
    assert chrome.find_element(By.ID, "accept-note").is_displayed()
    assert_fits(chrome, "phone-case-county", shots)
    _submit(chrome, "#step-accept button[type=submit]")
    assert "已受理" in chrome.find_element(By.ID, "case-stage").text
    chrome.find_element(By.CSS_SELECTOR, "#action-police_notified summary").click()
    assert chrome.find_element(By.ID, "police_notified-station").is_displayed()
    assert_fits(chrome, "phone-case-action", shots)


def test_assessment_pages_fit_a_phone(chrome, live_server, world, shots):
    """The county's league table of its villages (a full page of 50 rows, a column per sub-score) and a
    township's figures, on a phone."""
    from selenium.webdriver.common.by import By

    phone(chrome)
    log_in(chrome, live_server, world.county)
    open_page(chrome, f"{live_server}/assessment?level=5", "#assessment-table")
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#assessment-table tr.assessment-row")) == 50
    assert_fits(chrome, "phone-assessment-county", shots)
    open_page(chrome, f"{live_server}/assessment/units/{W.TOWNSHIP}", "#assessment-lines")
    assert_fits(chrome, "phone-assessment-township", shots)
