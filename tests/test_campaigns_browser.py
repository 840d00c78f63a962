"""A campaign end to end in a real browser (Debian's headless chromium): the province issues the holiday safety
check from its template and publishes it; a village director finds the task on the home page, answers it and
submits; the county tracks it: one of its N villages done, the village listed as submitted under its township,
the answers summed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.committed import figures_preserved
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture)
from tests.test_campaigns_api import count_units

pytestmark = pytest.mark.browser

COUNTY, TOWNSHIP, VILLAGE = "440203", "440203001", "440203001002"


@pytest.fixture
def campaign_cleanup(pg_url):
    """Yields a list to put the title in; afterwards the campaign (its tasks, receipts, timelines, notifications
    and stored progress cascade) is deleted and the stored figures and the outbox are put back."""
    from sqlalchemy import create_engine, text

    owner = create_engine(pg_url)
    titles: list[str] = []
    try:
        with figures_preserved(owner):
            try:
                yield titles
            finally:
                with owner.begin() as conn:
                    for title in titles:
                        conn.execute(text("DELETE FROM campaigns WHERE title = :t"), {"t": title})
    finally:
        owner.dispose()


def count(driver, key: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'#progress-figures .count[data-key="{key}"] .count-n').text


def test_province_issues_a_village_answers_the_county_sees_it(browser, live_server, live_users,  # noqa: F811
                                                              campaign_cleanup, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tenant_app import clock

    title = f"寒暑假排查 {uuid.uuid4().hex[:6]}"
    campaign_cleanup.append(title)
    due = clock.today_cst().replace(day=28) if clock.today_cst().day < 28 else clock.today_cst()

    # the province: a new campaign from the holiday safety template, saved, published
    log_in(browser, live_server, live_users["province"])
    browser.find_element(By.ID, "nav-campaigns").click()
    browser.find_element(By.ID, "new-campaign").click()
    browser.find_element(By.ID, "template-holiday_safety").click()
    WebDriverWait(browser, 10).until(lambda d: "template=holiday_safety" in d.current_url)
    assert browser.find_element(By.ID, "title").get_attribute("value") == "寒暑假重点时段排查"
    rows = browser.find_elements(By.CSS_SELECTOR, "#question-rows .question-row")
    assert [r.find_element(By.CSS_SELECTOR, ".q-key").get_attribute("value") for r in rows] == [
        "children_visited", "risks_found", "risk_count", "notes"]
    title_input = browser.find_element(By.ID, "title")
    title_input.clear()
    title_input.send_keys(title)
    browser.execute_script("document.getElementById('due_on').value = arguments[0];", due.isoformat())
    browser.find_element(By.ID, "save-campaign").click()
    publish = browser.find_element(By.ID, "publish")
    campaign_url = browser.current_url
    publish.click()
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "fanout-progress").get_attribute("data-status") == "open")
    villages = count_units("44", 5)
    assert int(browser.find_element(By.ID, "task-count").text) == villages
    browser.save_screenshot(str(Path(tmp_path) / "campaign-published.png"))
    browser.delete_all_cookies()

    # the village: the task is on the home page; answered and submitted
    log_in(browser, live_server, live_users["village"])
    browser.find_element(By.ID, "nav-tasks").click()
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#task-list tr.task-row")
               if title in r.text)
    assert row.get_attribute("data-status") == "pending"
    task_id = row.get_attribute("data-task")
    row.find_element(By.CSS_SELECTOR, "a").click()
    browser.find_element(By.ID, "task-form")
    browser.find_element(By.ID, "q-children_visited").send_keys("12")
    browser.find_element(By.ID, "q-risks_found-1").click()
    browser.find_element(By.ID, "q-risk_count").send_keys("2")
    browser.find_element(By.ID, "submit-task").click()
    step = browser.find_element(By.CSS_SELECTOR, '#timeline li[data-kind="submitted"]')
    assert "已提交" in step.text
    browser.find_element(By.ID, "nav-tasks").click()
    browser.find_element(By.ID, "tab-submitted").click()
    done = browser.find_element(By.CSS_SELECTOR, f'#task-list tr.task-row[data-task="{task_id}"]')
    assert done.get_attribute("data-status") == "submitted"
    browser.delete_all_cookies()

    # the county: one of its N villages done, and the village listed as submitted under its township
    log_in(browser, live_server, live_users["county"])
    browser.find_element(By.ID, "nav-campaigns").click()
    browser.find_element(By.ID, "tab-received").click()
    browser.find_element(By.LINK_TEXT, title).click()
    assert browser.current_url == campaign_url
    browser.find_element(By.ID, "track-link").click()
    n = count_units(COUNTY, 5)
    assert browser.find_element(By.ID, "progress-summary").get_attribute("data-unit") == COUNTY
    assert (count(browser, "total"), count(browser, "submitted"), count(browser, "not_started")) == (
        str(n), "1", str(n - 1))
    assert count(browser, "completion_rate") == f"{round(1 / n, 4) * 100:.1f}%"
    township = browser.find_element(By.CSS_SELECTOR, f'#progress-table tr.progress-row[data-code="{TOWNSHIP}"]')
    assert township.find_elements(By.TAG_NAME, "td")[-6].text == "1"  # the submitted column
    township.find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(browser, 10).until(lambda d: f"unit={TOWNSHIP}" in d.current_url)
    village = browser.find_element(By.CSS_SELECTOR, f'#progress-table tr.progress-row[data-code="{VILLAGE}"]')
    cells = village.find_elements(By.TAG_NAME, "td")
    assert cells[-6].text == "1" and cells[-2].text.startswith("100.0%")
    # worst first: the village that answered comes last
    codes = [r.get_attribute("data-code") for r in
             browser.find_elements(By.CSS_SELECTOR, "#progress-table tr.progress-row")]
    assert codes[-1] == VILLAGE and len(codes) == count_units(TOWNSHIP, 5)
    summary = browser.find_element(By.CSS_SELECTOR, '#answer-summary tr[data-key="children_visited"]').text
    assert "12" in summary
    browser.save_screenshot(str(Path(tmp_path) / "campaign-county-tracking.png"))
