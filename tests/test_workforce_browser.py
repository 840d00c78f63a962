"""The workforce story in a real browser (headless chromium): a township's supervisor records a village director
leaving and names who covers the village; after the roll-up the county's dashboard counts the vacant village, and
in the county's assessment the township falls below a township it was level with."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.committed import figures_preserved
from tests.conftest import PASSWORD, _hash
from tests.test_browser import browser  # noqa: F401  (the browser fixture)
from tests.test_cases_browser import _fill, _login, _roll_up, _submit
from tests.test_children_api import make_id

pytestmark = pytest.mark.browser

COUNTY = "440203"
ROSTER_TABLES = ("roster_reads", "roster_covers", "roster_appointments", "roster_people")


def _two_quiet_townships(conn) -> list[str]:
    """Two townships of the county that no other browser test works in, smallest first."""
    from sqlalchemy import text

    return list(conn.execute(text(
        "SELECT t.code FROM units t WHERE t.parent_code = :c AND t.code <> :busy AND NOT t.retired "
        "AND EXISTS (SELECT 1 FROM units v WHERE v.parent_code = t.code AND NOT v.retired) "
        "ORDER BY (SELECT count(*) FROM units v WHERE v.parent_code = t.code), t.code LIMIT 2"),
        {"c": COUNTY, "busy": COUNTY + "001"}).scalars())


@pytest.fixture
def staffed_townships(_app, pg_url):
    """Two townships whose every village has a director and which have a supervisor, appointed last year (so no
    vacancy in this year's period), and a staff account of the first township (its supervisor's login).
    Yields {townships, villages: {township: [codes]}, supervisor}; removes everything afterwards."""
    from sqlalchemy import create_engine, select, text

    from hierarchy.models import Unit
    from hierarchy.scope import Scope
    from tenant_app.auth.models import User
    from tenant_app.db import db
    from tenant_app.workforce.models import Appointment, RosterPerson

    owner = create_engine(pg_url)
    with owner.connect() as conn:
        townships = _two_quiet_townships(conn)
    assert len(townships) == 2, "the test database needs two townships with villages in county 440203"
    username = f"supervisor_{uuid.uuid4().hex[:6]}"
    villages: dict[str, list[str]] = {}
    with _app.app_context(), db.session_scope(Scope(all_tenants=True)) as session:
        session.add(User(region_code=townships[0], username=username, role="staff", password_hash=_hash(PASSWORD),
                         real_name="督导员甲", phone="13900004444"))
        seq = 0
        for township in townships:
            villages[township] = list(session.scalars(select(Unit.code).where(
                Unit.parent_code == township, Unit.retired.is_(False)).order_by(Unit.code)))
            for code, post in [(township, "supervisor")] + [(v, "director") for v in villages[township]]:
                seq += 1
                person = RosterPerson(region_code=code, province_code="44", name=f"工作人员{seq}", sex="male",
                                      id_number=make_id(birth="19850101", seq=f"{seq * 2 + 1:03d}"),
                                      phone="13800000000")
                session.add(person)
                session.flush()
                session.add(Appointment(region_code=code, person_id=person.id, post=post, employment="full_time",
                                        appointed_on=date(2025, 1, 1)))
    try:
        with figures_preserved(owner):
            yield {"townships": townships, "villages": villages, "supervisor": username}
    finally:
        with owner.begin() as conn:
            codes = list(townships) + [v for vs in villages.values() for v in vs]
            for table in ROSTER_TABLES:
                conn.execute(text(f"DELETE FROM {table} WHERE region_code = ANY(:codes)"), {"codes": codes})
            conn.execute(text("DELETE FROM notifications WHERE region_code = ANY(:codes)"), {"codes": codes})
            conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": username})
        owner.dispose()


def _league(driver, base: str) -> dict[str, tuple[int, float]]:
    """The county's league table of its townships: {code: (rank, total)}."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/assessment")
    found = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#assessment-table tr.assessment-row"):
        cells = row.find_elements(By.TAG_NAME, "td")
        total = cells[2].text.strip()
        found[row.get_attribute("data-code")] = (int(cells[0].text), float(total) if total != "—" else -1.0)
    return found


def _vacant_villages(driver, base: str) -> int:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/dashboard")
    card = driver.find_element(By.CSS_SELECTOR, '#roster-cards [data-key="villages_vacant"] .kf-n')
    return int(card.get_attribute("data-value"))


def test_a_director_leaves_the_county_sees_the_vacancy_and_the_township_falls(
        browser, live_server, live_users, staffed_townships, _app):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tenant_app import clock

    falling, level = staffed_townships["townships"]
    village = staffed_townships["villages"][falling][0]
    today = clock.cst_day(clock.now()).isoformat()
    _roll_up(_app)
    _login(browser, live_server, live_users["county"])
    vacant_before = _vacant_villages(browser, live_server)
    before = _league(browser, live_server)
    assert before[falling] == before[level], ("both townships fully staffed score alike", before)

    # The township's supervisor records the director leaving and names the township's supervisor as cover.
    _login(browser, live_server, staffed_townships["supervisor"])
    browser.get(f"{live_server}/roster/units/{village}")
    browser.find_element(By.CSS_SELECTOR, "#end-form summary").click()
    _fill(browser, {"left_on": today, "leave_reason": "外出务工"})
    cover = Select(browser.find_element(By.ID, "cover_person_id"))
    offered = [o for o in cover.options if o.get_attribute("value")]
    chosen = next((o for o in offered if "督导员" in o.text), offered[0])
    cover.select_by_value(chosen.get_attribute("value"))
    _submit(browser, "#end-form button[type=submit]")
    assert "岗位空缺" in browser.find_element(By.ID, "unit-holder").text
    history = browser.find_element(By.ID, "unit-history").text
    assert today in history and "外出务工" in history
    assert "暂无代管记录" not in browser.find_element(By.ID, "unit-covers").text

    # The county sees the vacancy and who covers it, and after the roll-up its dashboard counts it.
    _login(browser, live_server, live_users["county"])
    browser.get(f"{live_server}/roster/units/{village}")
    assert "岗位空缺" in browser.find_element(By.ID, "unit-holder").text
    _roll_up(_app)
    assert _vacant_villages(browser, live_server) == vacant_before + 1
    after = _league(browser, live_server)
    assert after[falling][1] < before[falling][1], (before[falling], after[falling])
    assert after[falling][0] > before[falling][0] and after[falling][0] > after[level][0], (before, after)
