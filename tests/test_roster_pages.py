"""Roster pages as people use them: register and appoint, record a departure with its cover, see the vacancy
and the cover from the county and the province, correct a person (stale version refused), import a workbook;
read-only roles see the pages without the forms."""

from __future__ import annotations

import io
from datetime import timedelta

from tenant_app import clock
from tests.cases_factories import COUNTY, PROVINCE, SIBLING_VILLAGE, TOWNSHIP, VILLAGE
from tests.roster_factories import adult_id
from tests.test_roster import _workbook

TODAY = clock.today_cst()


def _client(app, make_user, login, unit: str, role: str = "staff"):
    client = app.test_client()
    login(client, make_user(unit, role).username)
    return client


def _register(client, unit: str, name: str, appointed_on: str | None = "2025-01-01"):
    response = client.post("/roster/people/new", data={
        "unit_code": unit, "name": name, "sex": "male", "id_number": adult_id(area=unit[:6]),
        "phone": "13800005555", "qualifications": "", "employment": "full_time", "other_post": "",
        "appointed_on": appointed_on or ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def test_register_depart_cover_and_see_it_above(app, make_user, login):
    township = _client(app, make_user, login, TOWNSHIP)
    _register(township, VILLAGE, "王一")
    _register(township, SIBLING_VILLAGE, "赵邻")
    page = township.get(f"/roster/units/{VILLAGE}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "王一" in html and 'id="end-form"' in html
    assert 'id="unit-open-work"' in html
    # The departure with the neighbour as cover, in one form.
    import re

    appointment_id = re.search(r"/roster/appointments/(\d+)/end", html).group(1)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    neighbour = re.search(r'<option value="(\d+)">赵邻', html).group(1)
    response = township.post(f"/roster/appointments/{appointment_id}/end", data={
        "version": version, "left_on": (TODAY - timedelta(days=2)).isoformat(), "leave_reason": "辞职",
        "cover_person_id": neighbour})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    # The version read before is stale now: 409 with a message, nothing changes.
    stale = township.post(f"/roster/appointments/{appointment_id}/end", data={
        "version": version, "left_on": TODAY.isoformat()})
    assert stale.status_code == 409
    for unit in (COUNTY, PROVINCE):
        viewer = _client(app, make_user, login, unit, "viewer")
        html = viewer.get("/roster", query_string={"unit": TOWNSHIP}).get_data(as_text=True)
        assert "赵邻" in html and "空缺" in html
        unit_html = viewer.get(f"/roster/units/{VILLAGE}").get_data(as_text=True)
        assert "赵邻" in unit_html and 'id="appoint-form"' not in unit_html
    notes = township.get("/notifications").get_data(as_text=True)
    assert "岗位空缺" in notes


def test_a_refused_registration_shows_field_errors_and_writes_nothing(app, make_user, login):
    county = _client(app, make_user, login, COUNTY)
    response = county.post("/roster/people/new", data={"unit_code": VILLAGE, "name": "", "sex": "male",
                                                       "id_number": "123", "phone": "x", "appointed_on": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="id_number-errors"' in html and 'id="phone-errors"' in html and 'id="name-errors"' in html
    assert "王" not in county.get("/roster/people").get_data(as_text=True).split("<table")[1]


def test_pages_for_every_role_and_the_import(app, make_user, login):
    county = _client(app, make_user, login, COUNTY)
    _register(county, VILLAGE, "王一")
    for unit, role in ((VILLAGE, "staff"), (VILLAGE, "viewer"), (TOWNSHIP, "viewer"), (PROVINCE, "admin")):
        client = _client(app, make_user, login, unit, role)
        assert client.get("/roster").status_code == 200
        people = client.get("/roster/people")
        assert people.status_code == 200 and "王一" in people.get_data(as_text=True)
        assert "****" in people.get_data(as_text=True)
        assert client.get(f"/roster/units/{VILLAGE}").status_code == 200
        assert client.get("/roster/export.xlsx").status_code == 200
    assert _client(app, make_user, login, VILLAGE).get("/roster/people/new").status_code == 403
    content = _workbook([[SIBLING_VILLAGE, "李二", "男", adult_id(), "13800001112", "专职", "", "2025-02-01", ""]])
    response = county.post("/roster/import", data={"file": (io.BytesIO(content), "名册.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    result = county.get(response.headers["Location"])
    assert result.status_code == 200 and "确认导入有效行" in result.get_data(as_text=True)
    confirm = response.headers["Location"] + "/confirm"
    assert county.post(confirm).status_code == 302
    assert "李二" in county.get("/roster/people").get_data(as_text=True)
