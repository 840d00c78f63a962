"""Partner department accounts: created by the admins of their unit or above (county, city or province, with the
department's kind), deny by default on every page and endpoint but their rolls', and their pages."""

from __future__ import annotations

import io

import pytest

from tenant_app.links.departments import ALLOWED_ENDPOINTS
from tests import cases_factories
from tests.cases_factories import COUNTY, TOWNSHIP, problem
from tests.links_factories import csv_file
from tests.test_cases_partners import _url
from tests.test_children_api import make_id

person = cases_factories.person
case_state = cases_factories.case_state


def _department(app, make_user, login, token_for, unit=COUNTY, kind="education"):
    user = make_user(unit, "department", org_kind=kind, org_name="区教育局")
    page = app.test_client()
    login(page, user.username)
    return user, page, token_for(user.username)


def test_every_other_page_and_endpoint_refuses_a_department(app, make_user, login, token_for, case_state):
    _, page, headers = _department(app, make_user, login, token_for)
    before = case_state()
    tried = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ALLOWED_ENDPOINTS or rule.endpoint in ("units.home",):
            continue
        url = _url(rule)
        api = url.startswith("/api/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = page.open(url, method=method, json={} if api else None, headers=headers if api else None,
                                 data=None if api else {})
            tried += 1
            assert response.status_code in (403, 404), (method, url, response.status_code)
            if api and response.status_code == 403:
                assert response.mimetype == "application/problem+json"
    assert tried > 100
    assert case_state() == before


@pytest.mark.parametrize(("unit", "fields", "status", "errors"), [
    (COUNTY, {"org_kind": "education", "org_name": "武江区教育局"}, 201, ()),
    ("4402", {"org_kind": "public_security", "org_name": "韶关市公安局"}, 201, ()),
    (TOWNSHIP, {"org_kind": "education", "org_name": "镇教育办"}, 422, ("unit_code",)),
    (COUNTY, {"org_kind": "school", "org_name": "新华小学"}, 422, ("org_kind",)),
    (COUNTY, {"org_name": "区残联"}, 422, ("org_kind",)),
    (COUNTY, {"org_kind": "disabled_fed"}, 422, ("org_name",)),
])
def test_admins_create_department_accounts(client, person, unit, fields, status, errors):
    body = {"username": f"dept{unit}{len(fields)}", "real_name": "张科长", "phone": "13900000000",
            "role": "department", "unit_code": unit, "password": "Partner-2026x", **fields}
    response = client.post("/api/v1/users", json=body, headers=person(unit[:4], "admin")[1])
    if status == 201:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["org_kind"] == fields["org_kind"]
    else:
        problem(response, status, *errors)
    # A county's admin creates no department for the city above it.
    body = {**body, "username": "deptabove", "unit_code": "4402", "org_kind": "education", "org_name": "市教育局"}
    problem(client.post("/api/v1/users", json=body, headers=person(COUNTY, "admin")[1]), 422, "unit_code")


def test_a_department_signs_in_uploads_confirms_and_reads_its_results_on_its_pages(app, make_user, login,
                                                                                    token_for):
    _, page, _ = _department(app, make_user, login, token_for)
    home = page.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/rolls")
    listing = page.get("/rolls").get_data(as_text=True)
    assert "上传名册" in listing and "nav-children" not in listing and "nav-cases" not in listing
    content = csv_file("school", [f"G{make_id()},李小明,男,2016-03-01,,第一小学,四年级,在校"])
    response = page.post("/rolls", data={"roll_kind": "school", "file": (io.BytesIO(content), "学籍.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    upload_url = response.headers["Location"]
    assert "确认并开始比对" in page.get(upload_url).get_data(as_text=True)
    response = page.post(upload_url + "/confirm", data={"version": "0"})
    assert response.status_code == 302
    shown = page.get(upload_url).get_data(as_text=True)
    assert "已完成" in shown and "1 / 1" in shown and "未匹配" in shown
    assert page.get("/children").status_code == 403 and page.get("/rolls/review").status_code == 403
    assert page.get(upload_url + "?status=unmatched").status_code == 200
    # The county's staff read the versions, the results and the grey band on their pages.
    staff = app.test_client()
    login(staff, make_user(COUNTY, "staff").username)
    assert staff.get(upload_url + "?status=linked").status_code == 200
    for status in ("grey", "confirmed", "rejected", "linked"):
        assert staff.get(f"/rolls/review?status={status}").status_code == 200, status
    assert staff.get("/rolls/review?status=nothing").status_code == 404
    bad = page.post("/rolls", data={"roll_kind": "school", "file": (io.BytesIO(b"garbage"), "x.csv")},
                    content_type="multipart/form-data")
    assert bad.status_code == 422
