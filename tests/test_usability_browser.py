"""In a real browser (headless chromium): the record form fills birth date and sex from the ID number as it
is typed, and the county's children filter takes a unit chosen from the tree picker."""

from __future__ import annotations

import pytest

from tenant_app.children import idcard
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.browser


def test_id_number_fills_birth_date_and_sex_and_the_tree_picker_fills_the_unit(browser, live_server,  # noqa: F811
                                                                                  live_users):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    log_in(browser, live_server, live_users["village"])
    browser.get(f"{live_server}/children/new")
    first17 = "440203" + "20170415" + "123"  # 17th digit 3: odd, a boy
    browser.find_element(By.ID, "id_number").send_keys(first17 + idcard.check_char(first17))
    assert browser.find_element(By.ID, "birth_date").get_attribute("value") == "2017-04-15"
    assert Select(browser.find_element(By.ID, "sex")).first_selected_option.get_attribute("value") == "male"
    assert browser.find_element(By.ID, "id-fill-note").is_displayed()
    # A girl's number typed over it; an impossible date (2017-02-30) changes nothing.
    field = browser.find_element(By.ID, "id_number")
    field.clear()
    girl = "440203" + "20160229" + "128"
    field.send_keys(girl)
    assert browser.find_element(By.ID, "birth_date").get_attribute("value") == "2016-02-29"
    assert Select(browser.find_element(By.ID, "sex")).first_selected_option.get_attribute("value") == "female"
    field.clear()
    field.send_keys("440203" + "20170230" + "123")
    assert browser.find_element(By.ID, "birth_date").get_attribute("value") == "2016-02-29"
    assert len(Select(browser.find_element(By.ID, "ethnicity")).options) == 57

    browser.delete_all_cookies()
    log_in(browser, live_server, live_users["county"])
    browser.get(f"{live_server}/children")
    browser.find_element(By.CSS_SELECTOR, ".unit-picker-open").click()
    root = browser.find_element(By.CSS_SELECTOR, '.unit-picker-item[data-code="440203"]')
    root.find_element(By.CSS_SELECTOR, ".unit-picker-expand").click()
    township = browser.find_element(By.CSS_SELECTOR, '.unit-picker-item[data-code="440203001"]')
    township.find_element(By.CSS_SELECTOR, ".unit-picker-expand").click()
    village = browser.find_element(By.CSS_SELECTOR, '.unit-picker-item[data-code="440203001002"]')
    village.find_element(By.CSS_SELECTOR, ".unit-picker-choose").click()
    assert browser.find_element(By.ID, "unit").get_attribute("value") == "440203001002"
    assert not browser.find_element(By.CSS_SELECTOR, ".unit-picker").is_displayed()
    browser.find_element(By.ID, "filter").click()
    WebDriverWait(browser, 10).until(lambda d: "unit=440203001002" in d.current_url)
    assert "unit-errors" not in browser.page_source
