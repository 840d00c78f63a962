"""Training pages as people use them: a county organises a course, adds a director with hours and certificate,
corrects a row (a stale version refused); field errors shown with nothing written; the figures on the list;
read-only roles see no forms; a sibling county sees nothing; partners are refused."""

from __future__ import annotations

import re
from datetime import timedelta

from tenant_app import clock
from tests.cases_factories import COUNTY, OTHER_COUNTY, TOWNSHIP, VILLAGE
from tests.test_roster_pages import _client, _register

TODAY = clock.today_cst()


def _course(client, **overrides) -> str:
    data = {"unit_code": COUNTY, "title": "强制报告制度培训", "topic": "mandatory_reporting",
            "starts_on": (TODAY - timedelta(days=1)).isoformat(), "ends_on": TODAY.isoformat(), "hours": "6",
            "note": ""}
    data.update(overrides)
    response = client.post("/trainings/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def test_organise_a_course_and_record_attendance(app, make_user, login):
    county = _client(app, make_user, login, COUNTY)
    _register(county, VILLAGE, "王一")
    refused = county.post("/trainings/new", data={"unit_code": COUNTY, "title": "", "topic": "", "starts_on": "x",
                                                  "ends_on": "", "hours": "abc"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "title-errors" in html and "hours-errors" in html
    assert "starts_on-errors" in html and "topic-errors" in html
    assert "没有培训" in county.get("/trainings").get_data(as_text=True)
    url = _course(county)
    page = county.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "强制报告制度培训" in html and 'id="attendance-form"' in html
    person_id = re.search(r'<option value="(\d+)"[^>]*>王一', html).group(1)
    bad = county.post(f"{url}/attendance", data={"person_id": person_id, "hours_credited": "2000",
                                                 "attended": "1"})
    assert bad.status_code == 422 and "hours_credited-errors" in bad.get_data(as_text=True)
    assert county.post(f"{url}/attendance", data={"person_id": person_id, "attended": "1", "passed": "1",
                                                  "certificate_no": "WJ-001"}).status_code == 302
    html = county.get(url).get_data(as_text=True)
    assert "WJ-001" in html and "王一" in html
    attendance_id = re.search(r"/attendance/(\d+)", html).group(1)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert county.post(f"{url}/attendance/{attendance_id}", data={
        "version": version, "attended": "1", "hours_credited": "4", "certificate_no": "WJ-001"}).status_code == 302
    stale = county.post(f"{url}/attendance/{attendance_id}", data={
        "version": version, "attended": "1", "hours_credited": "5"})
    assert stale.status_code == 409
    listing = county.get("/trainings").get_data(as_text=True)
    assert 'id="figures-director"' in listing and "100.0%" in listing and "1 / 1" in listing
    # English on request.
    assert "Training" in county.get("/trainings?lang=en").get_data(as_text=True)


def test_read_only_roles_siblings_and_partners(app, make_user, login):
    county = _client(app, make_user, login, COUNTY)
    url = _course(county)
    village = _client(app, make_user, login, VILLAGE)
    assert village.get("/trainings").status_code == 200
    assert 'id="new-course"' not in village.get("/trainings").get_data(as_text=True)
    assert village.get("/trainings/new").status_code == 403
    sibling = _client(app, make_user, login, OTHER_COUNTY)
    assert "没有培训" in sibling.get("/trainings").get_data(as_text=True)
    assert sibling.get(url).status_code == 404
    partner = _client(app, make_user, login, TOWNSHIP, "reporter")
    assert partner.get("/trainings").status_code == 403
    assert partner.get(url).status_code == 403


def test_the_dashboard_shows_the_roster_and_training_figures(app, make_user, login):
    county = _client(app, make_user, login, COUNTY)
    _register(county, VILLAGE, "王一")
    url = _course(county)
    person_id = re.search(r'<option value="(\d+)"[^>]*>王一', county.get(url).get_data(as_text=True)).group(1)
    assert county.post(f"{url}/attendance", data={"person_id": person_id, "attended": "1",
                                                  "hours_credited": "6"}).status_code == 302
    html = county.get("/dashboard").get_data(as_text=True)
    section = html[html.index('id="roster-figures"'):]
    section = section[:section.index('id="roster-trend"') + 20]
    assert re.search(r'data-key="directors_in_post">.*?data-value="1"', section, re.S)
    assert re.search(r'data-key="trained_this_year">.*?data-value="1"', section, re.S)
    assert re.search(r'data-key="training_hours">.*?data-value="6"', section, re.S)
    assert 'id="roster-trend"' in section
