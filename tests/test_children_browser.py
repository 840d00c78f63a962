"""A village director creates a child record in a real browser (Debian's headless chromium): a wrong ID
number first, the error at the ID field, then the corrected number, and the child in the list."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tenant_app.children import idcard
from tenant_app.children.validation import today_cst
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.browser

AREA = "440203"


def child_identity() -> tuple[str, str, str]:
    """A child of about 8 with a GB 11643 ID number unique to this run: (birth date, sex, ID number)."""
    born = today_cst() - timedelta(days=8 * 365 + random.randint(30, 300))
    seq = f"{random.randint(0, 999):03d}"
    first17 = AREA + born.strftime("%Y%m%d") + seq
    number = first17 + idcard.check_char(first17)
    sex = idcard.sex_of(number)
    assert idcard.id_number_problems(number, legacy_allowed=False) == []
    return born.isoformat(), sex, number


@pytest.fixture
def child_name(pg_url):
    """A unique name for this run's child; the committed record is removed afterwards (as the database
    owner) so that later tests of the same session see the county as they left it."""
    from sqlalchemy import create_engine, text

    name = f"测试{uuid.uuid4().hex[:6]}"
    yield name
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM children WHERE name = :n"), {"n": name})]
            if ids:
                conn.execute(text("DELETE FROM audit_events WHERE child_id = ANY(:ids)"), {"ids": ids})
                conn.execute(text("DELETE FROM children WHERE id = ANY(:ids)"), {"ids": ids})
    finally:
        engine.dispose()


def set_value(driver, element_id: str, value: str) -> None:
    """Type into a text input, or set a date input's ISO value (its typing order depends on the locale)."""
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    if element.get_attribute("type") == "date":
        driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))", element, value)
    else:
        element.clear()
        element.send_keys(value)


def choose(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def submit(driver) -> None:
    from selenium.webdriver.common.by import By

    button = driver.find_element(By.ID, "save")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


def test_village_director_fixes_a_wrong_id_number_and_finds_the_child(browser, live_server,  # noqa: F811
                                                                      live_users, child_name, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    born, sex, number = child_identity()
    wrong = number[:17] + next(c for c in idcard.CHECK_CHARS if c != number[17])
    name = child_name
    log_in(browser, live_server, live_users["village"])
    browser.find_element(By.ID, "nav-children").click()
    browser.find_element(By.ID, "new-child").click()
    assert "新建儿童档案" in browser.find_element(By.TAG_NAME, "h1").text

    set_value(browser, "name", name)
    choose(browser, "sex", sex)
    set_value(browser, "birth_date", born)
    set_value(browser, "id_number", wrong)
    set_value(browser, "current_address", "五祖路8号")
    choose(browser, "schooling", "primary")
    set_value(browser, "father_name", "父亲甲")
    choose(browser, "father_situation", "away")
    set_value(browser, "mother_name", "母亲乙")
    choose(browser, "mother_situation", "away")
    set_value(browser, "guardian_name", "祖母丙")
    set_value(browser, "guardian_relationship", "祖母")
    browser.find_element(By.ID, "income_sources-migrant_work").click()
    left_behind = browser.find_element(By.ID, "is_left_behind")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", left_behind)
    left_behind.click()
    submit(browser)

    errors = browser.find_element(By.ID, "id_number-errors")
    assert "身份证号校验位错误" in errors.text
    id_field = browser.find_element(By.ID, "id_number")
    assert id_field.get_attribute("aria-invalid") == "true"
    assert id_field.get_attribute("value") == wrong  # what was typed is kept
    assert browser.find_element(By.ID, "name").get_attribute("value") == name
    assert browser.find_element(By.ID, "birth_date").get_attribute("value") == born
    assert browser.find_element(By.ID, "is_left_behind").is_selected()
    # the error sits with the ID field: in the same field block
    block = browser.find_element(By.CSS_SELECTOR, '[data-field="id_number"]')
    assert "身份证号校验位错误" in block.text
    browser.save_screenshot(str(Path(tmp_path) / "child-form-error.png"))

    set_value(browser, "id_number", number)
    submit(browser)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.rstrip("/").endswith("/children"))
    assert "已保存儿童档案" in browser.page_source

    search = browser.find_element(By.ID, "q")
    search.send_keys(name)
    browser.find_element(By.ID, "filter").click()
    WebDriverWait(browser, 10).until(lambda d: "q=" in d.current_url)
    listing = browser.find_element(By.ID, "children").text
    assert name in listing
    assert idcard.mask_id(number) in listing and number not in listing
    assert "共 1" in listing

    # the phone layout: one column, nothing wider than the screen
    browser.set_window_size(375, 812)
    browser.refresh()
    width = browser.execute_script("return window.innerWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.save_screenshot(str(Path(tmp_path) / "child-list-375.png"))
    browser.find_element(By.LINK_TEXT, name).click()
    assert number in browser.find_element(By.ID, "record").text  # in full on the record page
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.save_screenshot(str(Path(tmp_path) / "child-view-375.png"))
    browser.find_element(By.ID, "edit-child").click()
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    name_box = browser.find_element(By.ID, "name").rect
    sex_box = browser.find_element(By.ID, "sex").rect
    assert sex_box["y"] > name_box["y"] and abs(sex_box["x"] - name_box["x"]) < 2  # stacked, not side by side
    browser.save_screenshot(str(Path(tmp_path) / "child-edit-375.png"))
