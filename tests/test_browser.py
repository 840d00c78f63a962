"""A real browser (Debian's headless chromium) logs in and walks the tree, on a phone-sized screen too."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "Passw0rd!"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"browser tests need Debian's chromium and chromedriver; missing: {', '.join(missing)} "
                    "(apt-get install chromium chromium-driver)", pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        pytest.fail(f"browser tests need selenium ({exc}); pip install -e '.[test]'", pytrace=False)

    with tempfile.TemporaryDirectory(prefix="shouhu-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,900"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.implicitly_wait(5)  # find_element waits for the next page after a click
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def log_in(driver, base_url: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # the home page has the unit summary; the login page does not
    driver.find_element(By.ID, "unit")


def test_county_user_sees_its_townships_and_not_the_neighbours(browser, live_server, live_users, tmp_path):
    from selenium.webdriver.common.by import By

    log_in(browser, live_server, live_users["county"])
    assert browser.current_url.rstrip("/") == live_server
    summary = browser.find_element(By.ID, "unit").text
    assert "武江区" in summary and "440203" in summary

    children = browser.find_element(By.ID, "children").text
    for township in ("新华街道", "惠民街道", "西联镇", "西河镇", "龙归镇", "江湾镇", "重阳镇"):
        assert township in children
    for neighbour in ("东河街道", "车站街道", "新韶镇", "犁市镇"):  # 浈江区 (440204)
        assert neighbour not in browser.page_source
    assert "浈江区" not in browser.page_source

    # drill down into a township, then back up to the county (and no further)
    browser.find_element(By.LINK_TEXT, "西联镇").click()
    assert browser.current_url.endswith("/units/440203100")
    assert "碧桂园太阳城社区居民委员会" in browser.find_element(By.ID, "children").text
    browser.find_element(By.ID, "up").click()
    assert browser.current_url.endswith("/units/440203")
    assert not browser.find_elements(By.ID, "up")

    # a sibling county by URL is a 404 page
    browser.get(f"{live_server}/units/440204")
    assert "未找到" in browser.page_source
    assert "东河街道" not in browser.page_source

    # English, then the phone layout
    browser.get(f"{live_server}/?lang=en")
    assert "Units below" in browser.find_element(By.ID, "children").text
    browser.get(f"{live_server}/?lang=zh")
    browser.set_window_size(375, 812)
    browser.get(live_server + "/")
    width = browser.execute_script("return window.innerWidth")
    assert width <= 400
    # nothing wider than the screen: no horizontal scrolling of the page
    scroll_width = browser.execute_script("return document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page is {scroll_width}px wide on a {width}px screen"
    # tap targets: the drill-down links and the logout button are at least 40px high
    link = browser.find_element(By.LINK_TEXT, "西联镇")
    assert link.size["height"] >= 40
    # the menu is collapsed at phone width: the logout button is there once the menu is opened
    assert not browser.find_element(By.ID, "logout").is_displayed()
    browser.find_element(By.ID, "nav-toggle").click()
    assert browser.find_element(By.ID, "logout").size["height"] >= 32
    shot = Path(tmp_path) / "home-375.png"
    assert browser.save_screenshot(str(shot))
    # full-page screenshot for a human look: make the window as tall as the page
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(375, min(height + 100, 4000))
    browser.save_screenshot(str(Path(tmp_path) / "home-375-full.png"))
    print(f"phone screenshots: {shot.parent}")


def test_logout_from_the_browser(browser, live_server, live_users):
    from selenium.webdriver.common.by import By

    log_in(browser, live_server, live_users["township"])
    assert "新华街道" in browser.find_element(By.ID, "unit").text
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 10).until(lambda d: "/login" in d.current_url)
    browser.get(live_server + "/")
    assert "/login" in browser.current_url


@pytest.fixture
def live_admin(live_server):
    """A committed administrator of 武江区 for the live server (the test database is dropped afterwards)."""
    import uuid

    from hierarchy.scope import Scope
    from tenant_app.auth.models import User
    from tenant_app.auth.passwords import hash_password
    from tenant_app.db import db

    username = f"live_admin_{uuid.uuid4().hex[:6]}"
    with db.session_scope(Scope(all_tenants=True)) as session:
        session.add(User(region_code="440203", username=username, role="admin", real_name="浏览器管理员",
                         phone="13900000001", password_hash=hash_password(PASSWORD)))
    return username


def test_user_form_errors_and_list_on_a_phone(browser, live_server, live_admin, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(375, 812)
    log_in(browser, live_server, live_admin)
    browser.get(f"{live_server}/users/new")
    browser.find_element(By.ID, "username").send_keys("x")
    browser.find_element(By.ID, "unit_code").clear()
    browser.find_element(By.ID, "unit_code").send_keys("440204")
    browser.find_element(By.ID, "password").send_keys("short")
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    assert "单位不在管辖范围内" in browser.find_element(By.ID, "unit_code-errors").text
    assert "用户名为 3-64 位" in browser.find_element(By.ID, "username-errors").text
    width = browser.execute_script("return window.innerWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.save_screenshot(str(Path(tmp_path) / "new-user-375.png"))

    browser.get(f"{live_server}/users")
    assert live_admin in browser.find_element(By.ID, "users").text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.save_screenshot(str(Path(tmp_path) / "users-375.png"))
