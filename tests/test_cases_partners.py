"""Partner reporters (schools, kindergartens, clinics, social-work organisations, police stations): created by
the admins of a township or county, they file reports (API and page) and follow their own reports' status, and
every other page and endpoint refuses them."""

from __future__ import annotations

import pytest

from tenant_app.cases.partners import ALLOWED_ENDPOINTS
from tests import cases_factories
from tests.cases_factories import COUNTY, OTHER_COUNTY_VILLAGE, TOWNSHIP, VILLAGE, problem, report_body

person = cases_factories.person
new_child = cases_factories.new_child
case_state = cases_factories.case_state


def _url(rule) -> str:
    args = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__.lower()
        if "any" in converter:
            args[name] = sorted(rule._converters[name].items)[0]
        elif "int" in converter or "id" in converter:
            args[name] = 1
        else:
            args[name] = TOWNSHIP
    return rule.build(args, append_unknown=False)[1]


def _partner_clients(app, make_user, login, token_for):
    partner = make_user(TOWNSHIP, "reporter", org_kind="police", org_name="新华派出所")
    page = app.test_client()
    login(page, partner.username)
    return partner, page, token_for(partner.username)


def test_every_other_page_and_endpoint_refuses_a_partner(app, make_user, login, token_for, case_state):
    partner, page, headers = _partner_clients(app, make_user, login, token_for)
    before = case_state()
    tried = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ALLOWED_ENDPOINTS or rule.endpoint in ("units.home",):
            continue
        url = _url(rule)
        api = url.startswith("/api/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = (page.open(url, method=method, json={} if api else None,
                                  headers=headers if api else None, data=None if api else {}))
            tried += 1
            assert response.status_code in (403, 404), (method, url, response.status_code)
            if api and response.status_code == 403:
                assert response.mimetype == "application/problem+json"
    assert tried > 100
    assert case_state() == before


def test_every_documented_operation_refuses_a_partner_but_filing_and_its_reports(app, make_user, login,
                                                                                token_for, client):
    _, _, headers = _partner_clients(app, make_user, login, token_for)
    spec = client.get("/api/v1/openapi.json").get_json()
    allowed = {("/reports", "get"), ("/reports", "post"), ("/me", "get"), ("/me/password", "post"),
               ("/auth/token", "post")}
    for path, operations in spec["paths"].items():
        url = "/api/v1" + path.replace("{code}", TOWNSHIP).replace("{child_id}", "1").replace("{case_id}", "1")
        url = url.replace("{", "").replace("}", "")
        for method in operations:
            if method not in ("get", "post", "put", "patch", "delete") or (path, method) in allowed:
                continue
            response = client.open(url, method=method.upper(), json={}, headers=headers)
            assert response.status_code in (403, 404), (method, url, response.status_code)


def test_a_partner_files_through_the_api_as_its_organisation(app, make_user, login, token_for, client, person,
                                                              new_child, case_state):
    partner, _, headers = _partner_clients(app, make_user, login, token_for)
    child = new_child()
    before = case_state()
    refused = client.post("/api/v1/reports", json=report_body(child_ids=[child["id"]]), headers=headers)
    problem(refused, 422, "child_ids")
    outside = client.post("/api/v1/reports", json=report_body(village_code=OTHER_COUNTY_VILLAGE), headers=headers)
    problem(outside, 422, "village_code")
    assert case_state() == before

    filed = client.post("/api/v1/reports", json=report_body(reporter_kind="staff", reporter_name=""),
                        headers=headers)
    assert filed.status_code == 201, filed.get_json()
    body = filed.get_json()
    assert set(body) >= {"id", "stage"} and "narrative" not in body and "reporter" not in body
    mine = client.get("/api/v1/reports", headers=headers).get_json()
    assert mine["total"] == 1 and mine["items"][0]["stage"] == "reported"

    county = client.get(f"/api/v1/cases/{body['id']}", headers=person(COUNTY)[1]).get_json()
    assert county["reporter"]["kind"] == "police" and "新华派出所" in county["reporter"]["name"]
    assert county["reporter"]["contact"] == "13900001234" and partner.org_name == "新华派出所"
    township = client.get(f"/api/v1/cases/{body['id']}", headers=person(TOWNSHIP)[1]).get_json()
    assert "reporter" not in township and township["narrative"]


def test_a_partners_case_and_entry_carry_its_account_and_the_key_holds_them_to_it(app, make_user, login, token_for,
                                                                                 client, person):
    """Migration 0029: the case keeps its reporter, the partner's own entry names the partner, and the database
    refuses an entry naming a partner who did not report the case (the form a distributed deployment's policies
    read, deploy/citus/SCHEMA.md)."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from hierarchy.scope import Scope, scoped
    from tenant_app.cases.models import Case, CaseAction
    from tenant_app.db import db

    partner, _, headers = _partner_clients(app, make_user, login, token_for)
    filed = client.post("/api/v1/reports", json=report_body(), headers=headers)
    assert filed.status_code == 201, filed.get_json()
    staff_filed = client.post("/api/v1/reports", json=report_body(), headers=person(VILLAGE)[1])
    assert staff_filed.status_code == 201, staff_filed.get_json()
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        case = session.get(Case, filed.get_json()["id"])
        assert case.reporter_user_id == partner.id
        entries = session.scalars(select(CaseAction).where(CaseAction.case_id == case.id)).all()
        assert [(e.kind, e.partner_user_id) for e in entries] == [("filed", partner.id)]
        staff_entry = session.scalars(select(CaseAction).where(
            CaseAction.case_id == staff_filed.get_json()["id"])).one()
        assert staff_entry.partner_user_id is None  # staff entries name no partner
        other = make_user(TOWNSHIP, "reporter")
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(CaseAction(case_id=case.id, region_code=case.region_code, kind="filed", stage=case.stage,
                                   data={}, note="", by_user_id=other.id, by_unit_code=TOWNSHIP,
                                   partner_user_id=other.id))
            session.flush()
        session.close()


@pytest.mark.parametrize(("unit", "fields", "status", "errors"), [
    (TOWNSHIP, {"org_kind": "school", "org_name": "新华小学"}, 201, ()),
    (COUNTY, {"org_kind": "clinic", "org_name": "武江区人民医院"}, 201, ()),
    (VILLAGE, {"org_kind": "school", "org_name": "村小"}, 422, ("unit_code",)),
    (TOWNSHIP, {"org_name": "新华小学"}, 422, ("org_kind",)),
    (TOWNSHIP, {"org_kind": "school"}, 422, ("org_name",)),
])
def test_admins_create_partner_accounts(client, person, unit, fields, status, errors):
    body = {"username": f"partner{unit}{len(fields)}", "real_name": "王老师", "phone": "13900000000",
            "role": "reporter", "unit_code": unit, "password": "Partner-2026x", **fields}
    response = client.post("/api/v1/users", json=body, headers=person(COUNTY, "admin")[1])
    if status == 201:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["org_kind"] == fields["org_kind"]
    else:
        problem(response, status, *errors)


def test_the_user_admin_page_creates_a_partner(app, make_user, login):
    admin = make_user(TOWNSHIP, "admin")
    browser = app.test_client()
    login(browser, admin.username)
    form = browser.get("/users/new").get_data(as_text=True)
    assert 'value="reporter"' in form and 'id="org_kind"' in form
    created = browser.post("/users/new", data={
        "username": "xinhua_school", "real_name": "李老师", "phone": "13900000001", "role": "reporter",
        "unit_code": TOWNSHIP, "org_kind": "school", "org_name": "新华小学", "password": "Partner-2026x"})
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    listed = browser.get(f"/users?unit={TOWNSHIP}").get_data(as_text=True)
    assert "新华小学" in listed and "合作报告机构" in listed


def test_an_id_number_a_partner_writes_reveals_nothing_to_it_and_finds_the_record_for_staff(
        app, make_user, login, token_for, client, new_child):
    from tests.test_children_api import make_id

    child = new_child(seq="027")
    number = make_id(seq="027")
    _, page, headers = _partner_clients(app, make_user, login, token_for)
    answers = []
    for written in (number, make_id(seq="029")):  # a child on record, and one that is not
        response = client.post("/api/v1/reports", headers=headers, json=report_body(
            unknown_child_description=f"李小明，身份证号{written}"))
        assert response.status_code == 201
        body = response.get_json()
        answers.append({k: v for k, v in body.items() if k not in ("id", "version", "reported_at", "due_at",
                                                                  "due_at_cst", "due_on_cst")})
    assert answers[0] == answers[1]  # the same answer whether or not the number is on record
    assert "children" not in answers[0] or answers[0]["children"] == []

    county = app.test_client()
    login(county, make_user(COUNTY, "staff").username)
    # Staff see a lookup link for any valid number (the page does not say whether it is on record either).
    assert "按身份证号查找儿童档案" in county.get(f"/cases/{body['id']}").get_data(as_text=True)
    first = client.get("/api/v1/reports", headers=headers).get_json()["items"][-1]
    page_html = county.get(f"/cases/{first['case_id']}").get_data(as_text=True)
    link = f"/children?q={number}"
    assert link in page_html
    found = county.get(link).get_data(as_text=True)
    assert found.count('class="child-row"') == 1 and f'data-child-id="{child["id"]}"' in found


def test_the_reporter_stays_with_the_county(app, make_user, login, token_for, client, person):
    """Neither the township's list of its own reports nor the case's timeline names a partner to anyone but
    the handling county."""
    partner, _, headers = _partner_clients(app, make_user, login, token_for)
    case_id = client.post("/api/v1/reports", json=report_body(), headers=headers).get_json()["id"]
    township = client.get("/api/v1/reports", headers=person(TOWNSHIP)[1]).get_json()
    assert township["total"] == 0
    filed = [e for e in client.get(f"/api/v1/cases/{case_id}", headers=person(TOWNSHIP)[1]).get_json()["timeline"]
             if e["kind"] == "filed"]
    assert filed and filed[0]["by_user_id"] is None and filed[0]["by_unit_code"] is None
    county = client.get(f"/api/v1/cases/{case_id}", headers=person(COUNTY)[1]).get_json()["timeline"]
    assert [e["by_user_id"] for e in county if e["kind"] == "filed"] == [partner.id]
