"""The whole flow of a case in a real browser (headless chromium): a school reports a child living alone → the
county accepts and records police notified and a temporary placement → the township assesses → a help plan
with "back to school" done → closed; the school follows its report to the end, and after the roll-up the
province's dashboard counts the outcome."""

from __future__ import annotations

import uuid

import pytest

from tests.committed import figures_preserved
from tests.conftest import PASSWORD, _hash
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.browser

TOWNSHIP, VILLAGE = "440203001", "440203001002"
NARRATIVE = "班主任家访发现该生独自在家已一周，父母在外务工，无人照料。"


@pytest.fixture
def school(_app, pg_url):
    """A committed partner account of the township (a school); its reports and cases go afterwards."""
    from sqlalchemy import create_engine, text

    from hierarchy.scope import Scope
    from tenant_app.auth.models import User
    from tenant_app.db import db

    username = f"school_{uuid.uuid4().hex[:6]}"
    with _app.app_context(), db.session_scope(Scope(all_tenants=True)) as session:
        session.add(User(region_code=TOWNSHIP, username=username, role="reporter", password_hash=_hash(PASSWORD),
                         real_name="王老师", phone="13900002222", org_kind="school", org_name="新华中心小学"))
    owner = create_engine(pg_url)
    try:
        with figures_preserved(owner):
            yield username
            with owner.begin() as conn:
                ids = "SELECT c.id FROM cases c JOIN reports r ON r.id = c.report_id " \
                      "JOIN users u ON u.id = r.reporter_user_id WHERE u.username = :u"
                for table in ("case_reads", "case_actions", "case_children"):
                    conn.execute(text(f"DELETE FROM {table} WHERE case_id IN ({ids})"), {"u": username})
                conn.execute(text(f"DELETE FROM cases WHERE id IN ({ids})"), {"u": username})
                conn.execute(text("DELETE FROM reports WHERE reporter_user_id IN "
                                  "(SELECT id FROM users WHERE username = :u)"), {"u": username})
    finally:
        with owner.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": username})
        owner.dispose()


def _login(driver, base: str, username: str, home: str = "unit") -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    driver.find_element(By.ID, home)


def _submit(driver, selector: str) -> None:
    """Click a submit button and wait for the next page (the old one gone), not just any matching element."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(old))


def _fill(driver, values: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for element_id, value in values.items():
        element = driver.find_element(By.ID, element_id)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        elif element.get_attribute("type") in ("date", "datetime-local"):
            driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)


def _action(driver, kind: str, values: dict) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#action-{kind} summary").click()
    _fill(driver, values)
    _submit(driver, f"#action-{kind} button[type=submit]")
    assert "已登记" in driver.find_element(By.CSS_SELECTOR, ".alert-success").text


def _step(driver, step: str, values: dict | None = None) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#step-{step} summary").click()
    _fill(driver, values or {})
    _submit(driver, f"#step-{step} button[type=submit]")
    assert "已办理" in driver.find_element(By.CSS_SELECTOR, ".alert-success").text


OUTCOMES = ("outcome_back_to_school", "outcome_temporary_placements")


def _province_outcomes(driver, base: str, username: str) -> dict[str, int]:
    """The province's dashboard outcome cards (stored figures) for the keys of OUTCOMES."""
    from selenium.webdriver.common.by import By

    _login(driver, base, username)
    driver.get(f"{base}/dashboard")
    return {key: int(driver.find_element(By.CSS_SELECTOR, f'#case-outcomes [data-key="{key}"] .kf-n')
                     .get_attribute("data-value")) for key in OUTCOMES}


def _roll_up(app) -> None:
    """Drain the outbox now (the workers' job), so that the stored figures include the case."""
    from sync import outbox

    with app.app_context():
        outbox.drain_inline()


def test_school_report_to_closed_case(browser, live_server, live_users, school, _app):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tenant_app import clock

    today = clock.cst_day(clock.now()).isoformat()
    now = clock.cst_text(clock.now(), "%Y-%m-%dT%H:%M")
    _roll_up(_app)
    before = _province_outcomes(browser, live_server, live_users["province"])

    # The school files from its reports page; it sees no records, no cases, no lists.
    _login(browser, live_server, school, home="report-list")
    assert not browser.find_elements(By.ID, "nav-children")
    browser.find_element(By.ID, "new-report").click()
    Select(browser.find_element(By.ID, "category")).select_by_value("living_alone")
    browser.find_element(By.CSS_SELECTOR, "label:has(input[name=urgency][value=emergency])").click()
    _fill(browser, {"village_code": VILLAGE, "narrative": NARRATIVE, "unknown_child_description": "五年级男生，11岁"})
    _submit(browser, "#file-report")
    rows = browser.find_elements(By.CSS_SELECTOR, "#report-list tr.report-row")
    assert len(rows) == 1 and "已报告" in rows[0].text

    # The county accepts, notifies the police and places the child with relatives.
    _login(browser, live_server, live_users["county"])
    browser.get(f"{live_server}/cases?stage=reported")
    browser.find_element(By.CSS_SELECTOR, "#case-list tr.case-row a").click()
    assert "新华中心小学" in browser.find_element(By.ID, "reporter").text
    case_url = browser.current_url
    _step(browser, "accept")
    _action(browser, "police_notified", {"police_notified-station": "新华派出所", "police_notified-at": now,
                                         "police_notified-receipt_no": "JQ2026001"})
    _action(browser, "temporary_placement", {"temporary_placement-kind": "relatives",
                                             "temporary_placement-where": "外婆家（同村）",
                                             "temporary_placement-since": today})
    _step(browser, "advance", {"advance-to": "assessment"})

    # The township assesses; it does not see the reporter.
    _login(browser, live_server, live_users["township"])
    browser.get(case_url)
    assert not browser.find_elements(By.ID, "reporter")
    _action(browser, "assessment", {"assessment-safety": "poor", "assessment-guardianship_capacity": "poor",
                                    "assessment-physical_health": "good", "assessment-mental_health": "fair",
                                    "assessment-risk_level": "high"})

    # The county opens the help plan; the township records the child back at school; the county closes.
    _login(browser, live_server, live_users["county"])
    browser.get(case_url)
    _step(browser, "advance", {"advance-to": "help_plan"})
    _login(browser, live_server, live_users["township"])
    browser.get(case_url)
    _action(browser, "help_service", {"help_service-kind": "back_to_school", "help_service-owner_unit": TOWNSHIP,
                                      "help_service-due_on": today, "help_service-done_on": today,
                                      "help_service-outcome": "已返校复学"})
    _login(browser, live_server, live_users["county"])
    browser.get(case_url)
    _step(browser, "advance", {"advance-to": "follow_up"})
    _step(browser, "close", {"close-outcome": "placed", "close-summary": "已返校，由外婆照料，定期回访"})
    assert "已结案" in browser.find_element(By.ID, "case-stage").text
    timeline = browser.find_element(By.ID, "timeline").text
    for text in ("已报告公安机关", "临时安置", "评估", "返校复学", "已结案"):
        assert text in timeline, text

    # The school sees its report closed, nothing more.
    _login(browser, live_server, school, home="report-list")
    assert "已结案" in browser.find_element(By.CSS_SELECTOR, "#report-list tr.report-row").text
    browser.get(case_url)
    assert "合作报告机构只能提交报告" in browser.page_source and NARRATIVE not in browser.page_source

    # The roll-up runs; the province's dashboard counts the child back at school and the temporary placement.
    _roll_up(_app)
    after = _province_outcomes(browser, live_server, live_users["province"])
    assert after == {key: before[key] + 1 for key in OUTCOMES}, (before, after)


@pytest.fixture
def township_admin(_app, pg_url):
    from sqlalchemy import create_engine, text

    from hierarchy.scope import Scope
    from tenant_app.auth.models import User
    from tenant_app.db import db

    username = f"tadmin_{uuid.uuid4().hex[:6]}"
    with _app.app_context(), db.session_scope(Scope(all_tenants=True)) as session:
        session.add(User(region_code=TOWNSHIP, username=username, role="admin", password_hash=_hash(PASSWORD),
                         real_name="乡镇管理员", phone="13900003333"))
    yield username
    owner = create_engine(pg_url)  # users are removed by the tables' owner only
    try:
        with owner.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": username})
    finally:
        owner.dispose()


def test_partner_fields_show_for_the_partner_role_only(browser, live_server, township_admin):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _login(browser, live_server, township_admin)
    browser.get(f"{live_server}/users/new")
    fields = browser.find_element(By.ID, "partner-fields")
    assert not fields.is_displayed()
    Select(browser.find_element(By.ID, "role")).select_by_value("reporter")
    assert fields.is_displayed() and browser.find_element(By.ID, "org_name").is_displayed()
    Select(browser.find_element(By.ID, "role")).select_by_value("staff")
    assert not fields.is_displayed()
