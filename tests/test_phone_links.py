"""The horizontal links' pages on a phone (headless chromium at 390×844, the checks of tests/test_phone.py): a
county's worklists and a village's, as the county's staff and as the village's director, and the verification
task a village answers item by item, with lists a page long (45 records, long names, every item's answer form)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import text

from tests import crawl_links
from tests.committed import committed_world
from tests.phone_checks import DESKTOP, NARROW_CELLS, NO_SIDEWAYS, assert_fits, save_full
from tests.phone_world import LONG_NAMES
from tests.test_browser import browser, log_in  # noqa: F401  (the browser fixture, wrapped below)
from tests.test_phone import open_page, phone, set_screen, shots  # noqa: F401  (where screenshots go)

pytestmark = pytest.mark.browser

COUNTY, VILLAGE = "440203", "440203100206"
N_CHILDREN = 45
FINGER = 36  # px: the smallest tap target the pages use (.btn-small); controls are 44 px


def build(app, owner, tag: str, hashed: str) -> SimpleNamespace:
    """A director of VILLAGE; its records; the county's school roll matched to them (tests/crawl_links.py): every
    record a suspected dropout, three name mismatches; a verification task of the village with its dropouts, a
    few answered, plus records without household registration and an unregistered child from the register."""
    from tenant_app import clock
    from tenant_app.children.demo import generate_children

    director = f"phone_links_dir_{tag}"
    with owner.begin() as conn:
        conn.execute(text("""
            INSERT INTO users (region_code, username, password_hash, role, real_name, phone, active, auth_epoch,
                               created_at, updated_at)
            VALUES (:v, :u, :h, 'staff', :n, '13912345678', true, 0, now(), now())"""),
                     {"v": VILLAGE, "u": director, "h": hashed, "n": LONG_NAMES[1]})
        generate_children(conn, N_CHILDREN, VILLAGE, seed=391)
        ids = [r[0] for r in conn.execute(text("SELECT id FROM children WHERE region_code = :v ORDER BY id"),
                                          {"v": VILLAGE})]
        for child_id, name in zip(ids, LONG_NAMES, strict=False):
            conn.execute(text("UPDATE children SET name = :n WHERE id = :i"), {"n": name, "i": child_id})
        task = crawl_links.build(conn, hashed, county=COUNTY, village=VILLAGE, username=f"phone_links_dept_{tag}",
                                 today=clock.today_cst(), title=f"疑似辍学核查 {tag}")
        campaign = conn.execute(text("SELECT campaign_id FROM tasks WHERE id = :t"), {"t": task}).scalar_one()
        conn.execute(text("""
            INSERT INTO worklist_items (region_code, list_kind, subject_key, child_id, name, sex, birth_date,
                                        id_number, reason, status, campaign_id, task_id, answer_note, computed_at,
                                        version)
            SELECT region_code, 'no_hukou', 'c' || id, id, name, sex, birth_date, id_number, 'not_on_register',
                   'in_task', :c, :t, '', now(), 1
            FROM children WHERE region_code = :v ORDER BY id DESC LIMIT 3"""), {"c": campaign, "t": task, "v": VILLAGE})
        conn.execute(text("""
            INSERT INTO worklist_items (region_code, list_kind, subject_key, child_id, name, sex, birth_date,
                                        id_number, reason, status, campaign_id, task_id, answer_note, computed_at,
                                        version)
            VALUES (:v, 'unregistered', 'r440203201601010016', NULL, :n, 'female', '2016-01-01',
                    '440203201601010016', 'both_away', 'in_task', :c, :t, '', now(), 1)"""),
                     {"c": campaign, "t": task, "v": VILLAGE, "n": LONG_NAMES[6]})
    return SimpleNamespace(director=director, task_id=task)


def tear_down(owner, tag: str) -> None:
    with owner.begin() as conn:
        conn.execute(text("DELETE FROM worklist_items WHERE region_code = :v"), {"v": VILLAGE})
        conn.execute(text("DELETE FROM campaigns WHERE issuer_code = :c AND title LIKE :t"),
                     {"c": COUNTY, "t": f"%{tag}"})
        uploads = ("SELECT id FROM roll_uploads WHERE user_id IN "
                   "(SELECT id FROM users WHERE username = :u)")
        for table in ("roll_matches", "roll_match_runs", "roll_rows", "roll_staged_rows"):
            conn.execute(text(f"DELETE FROM {table} WHERE upload_id IN ({uploads})"),
                         {"u": f"phone_links_dept_{tag}"})
        conn.execute(text(f"DELETE FROM roll_uploads WHERE id IN ({uploads})"), {"u": f"phone_links_dept_{tag}"})
        ids = [r[0] for r in conn.execute(text("SELECT id FROM children WHERE region_code = :v"), {"v": VILLAGE})]
        if ids:
            conn.execute(text("DELETE FROM audit_events WHERE child_id = ANY(:ids)"), {"ids": ids})
            conn.execute(text("DELETE FROM children WHERE id = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM users WHERE username LIKE :u"), {"u": f"phone_links_%_{tag}"})


@pytest.fixture(scope="module")
def world(_app, pg_url, live_server, live_users):
    from tests.conftest import PASSWORD, _hash

    with committed_world(pg_url, lambda owner, tag: build(_app, owner, tag, _hash(PASSWORD)), tear_down) as made:
        made.county = live_users["county"]
        yield made


@pytest.fixture
def chrome(browser):  # noqa: F811
    browser.set_page_load_timeout(180)
    browser.set_script_timeout(180)
    return browser


def _rows(driver, css: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def _finger_sized(driver, css: str) -> None:
    """Every visible control the selector finds is a finger's tap target, and no wider than the screen."""
    for control in _rows(driver, css):
        if control.is_displayed():
            size = control.size
            assert size["height"] >= FINGER, f"{css} {control.get_attribute('name')}: {size}"
            assert size["width"] <= 390, f"{css} {control.get_attribute('name')}: {size}"


def _names_finger_sized(driver, table: str) -> None:
    """A card's title, the first cell's link, is a finger-sized link (as the children's list has it)."""
    links = _rows(driver, f"{table} tbody td:first-child a")
    assert links
    for link in links:
        assert link.size["height"] >= 40, f"{table} {link.text}: {link.size}"


def _record_below_name(driver, table: str) -> None:
    """What the record says sits under the name from the roll, not squeezed beside it."""
    cells = _rows(driver, f"{table} tbody td:first-child")
    for cell in cells:
        name, record = cell.find_element("css selector", "a").rect, cell.find_element("css selector", ".muted").rect
        assert record["y"] >= name["y"] + name["height"] - 12, f"{cell.text}: {name} / {record}"


def test_worklists_fit_a_phone_for_the_county(chrome, live_server, world, shots):  # noqa: F811
    phone(chrome)
    log_in(chrome, live_server, world.county)
    open_page(chrome, f"{live_server}/links/worklists/{COUNTY}", "#worklist-units")
    rows = _rows(chrome, "#worklist-units tbody tr")
    assert VILLAGE in " ".join(r.text for r in rows)
    assert_fits(chrome, "phone-worklists-county", shots)
    _names_finger_sized(chrome, "#worklist-units")
    _finger_sized(chrome, "main .btn, #worklist-campaign :is(select, input)")

    open_page(chrome, f"{live_server}/links/worklists/{VILLAGE}", "#worklist-items")
    assert len(_rows(chrome, "#worklist-items tbody tr")) == N_CHILDREN - crawl_links.ANSWERED
    # Items follow the records' order and the first ANSWERED are answered (tests/crawl_links.py): the last long
    # name is still open.
    assert LONG_NAMES[-1] in chrome.find_element("id", "worklist-items").text
    assert_fits(chrome, "phone-worklist-village-county", shots)
    _finger_sized(chrome, "main .btn")
    _names_finger_sized(chrome, "#worklist-items")
    open_page(chrome, f"{live_server}/links/worklists/{VILLAGE}?list=mismatch", "#worklist-items")
    assert len(_rows(chrome, "#worklist-items tbody tr")) == 3
    assert_fits(chrome, "phone-worklist-mismatch", shots)
    _record_below_name(chrome, "#worklist-items")


def test_worklist_and_verification_task_fit_a_phone_for_the_village(chrome, live_server, world, shots):  # noqa: F811
    phone(chrome)
    log_in(chrome, live_server, world.director)
    open_page(chrome, f"{live_server}/links/worklists/{VILLAGE}", "#worklist-items")
    assert len(_rows(chrome, "#worklist-items tbody tr")) == N_CHILDREN - crawl_links.ANSWERED
    assert_fits(chrome, "phone-worklist-village", shots)

    open_page(chrome, f"{live_server}/links/verification/{world.task_id}", "#verification-items")
    rows = _rows(chrome, "#verification-items tbody tr")
    assert len(rows) == N_CHILDREN + 4
    forms = _rows(chrome, "#verification-items form")
    assert len(forms) == N_CHILDREN + 4 - crawl_links.ANSWERED  # every item not yet answered has its form
    assert _rows(chrome, "#verification-items input[name=hukou_place]")
    assert_fits(chrome, "phone-verification", shots)
    _finger_sized(chrome, "main .btn, #verification-items :is(select, input:not([type=hidden]), button)")
    _names_finger_sized(chrome, "#verification-items")
    # Each answer form has the card's whole width, and its choices and note that of the form.
    for row in rows:
        for form in row.find_elements("css selector", "form"):
            assert form.size["width"] >= row.size["width"] - 8, f"{row.text[:20]}: form {form.size} in {row.size}"
            for control in form.find_elements("css selector", "select, input:not([type=hidden])"):
                assert control.size["width"] >= form.size["width"] - 2, f"{control.get_attribute('name')}"
                assert control.get_attribute("aria-label"), f"{control.get_attribute('name')} has no name"


def _reads_well_on_a_desktop(driver, page: str, table: str, folder) -> None:
    """No sideways scrolling, no squeezed cells, a real table again (headers shown); the controls of a form may
    stand side by side here, so the phone's full-width rule does not apply."""
    scroll_width, width = driver.execute_script(NO_SIDEWAYS)
    assert scroll_width <= width, f"{page}: {scroll_width}px wide on a {width}px screen"
    assert driver.execute_script(NARROW_CELLS) == [], f"{page}: table cells squeezed"
    assert driver.find_element("css selector", f"{table} thead").is_displayed()
    save_full(driver, folder / f"{page}.png")


def test_the_same_pages_still_read_well_on_a_desktop(chrome, live_server, world, shots):  # noqa: F811
    set_screen(chrome, *DESKTOP)
    log_in(chrome, live_server, world.director)
    open_page(chrome, f"{live_server}/links/verification/{world.task_id}", "#verification-items")
    _reads_well_on_a_desktop(chrome, "desktop-verification", "#verification-items", shots)
    row = _rows(chrome, "#verification-items tbody tr")[0]
    assert row.size["height"] < 160, row.size  # a line of the table: the answer's controls side by side
    open_page(chrome, f"{live_server}/links/worklists/{VILLAGE}?list=mismatch", "#worklist-items")
    _reads_well_on_a_desktop(chrome, "desktop-worklist-mismatch", "#worklist-items", shots)
