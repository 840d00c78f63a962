"""Assessment pages as people use them: the league table (paginated beyond 50 rows, linked to each unit's
figures), the unit's figures and trend, the .xlsx export, the scheme form (province staff set it, field errors
keep what was typed and write nothing, other units read it); villages, partners and siblings are refused."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tenant_app.assessment import indicators as I
from tests.cases_factories import COUNTY, OTHER_COUNTY, PROVINCE, TOWNSHIP, VILLAGE


def _client(app, make_user, login, unit: str, role: str = "staff"):
    client = app.test_client()
    login(client, make_user(unit, role).username)
    return client


def test_league_detail_trend_and_export(app, make_user, login):
    county = _client(app, make_user, login, COUNTY, "viewer")
    home = county.get("/").get_data(as_text=True)
    assert 'id="nav-assessment"' in home
    page = county.get("/assessment")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="assessment-table"' in html
    assert f'/assessment/units/{TOWNSHIP}?' in html and 'id="assessment-note"' not in html  # training is scored
    detail = county.get(f"/assessment/units/{TOWNSHIP}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200 and 'id="assessment-lines"' in html and 'data-key="campaign_on_time"' in html
    assert county.get(f"/assessment/units/{TOWNSHIP}/trend").status_code == 200
    english = county.get(f"/assessment/units/{TOWNSHIP}?lang=en").get_data(as_text=True)
    assert "Effective weight" in english
    export = county.get("/assessment/export.xlsx", query_string={"level": 5})
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert sheet.cell(2, 1).value in ("名次", "Rank") and sheet.max_row > 50
    # A period the wrong way round: the messages next to the fields, the default period shown.
    bad = county.get("/assessment", query_string={"period_start": "2026-05-01", "period_end": "2026-04-01"})
    assert bad.status_code == 200 and 'id="period_end-errors"' in bad.get_data(as_text=True)


def test_a_long_league_is_paginated(app, make_user, login):
    province = _client(app, make_user, login, PROVINCE)
    first = province.get("/assessment", query_string={"level": 5}).get_data(as_text=True)
    assert first.count('class="assessment-row"') == 50 and 'rel="next"' in first
    second = province.get("/assessment", query_string={"level": 5, "page": 2}).get_data(as_text=True)
    assert second.count('class="assessment-row"') == 50 and 'rel="prev"' in second


def test_the_scheme_form(app, make_user, login):
    province = _client(app, make_user, login, PROVINCE)
    form = province.get("/assessment/scheme").get_data(as_text=True)
    assert 'id="scheme-save"' in form
    bad = dict(I.DEFAULT_WEIGHTS) | {"unattended": 150}
    response = province.post("/assessment/scheme", data={k: str(v) for k, v in bad.items()})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="weights.unattended-errors"' in html and 'value="150"' in html
    uneven = dict(I.DEFAULT_WEIGHTS) | {"unattended": 11}
    response = province.post("/assessment/scheme", data={k: str(v) for k, v in uneven.items()})
    assert response.status_code == 422 and 'id="weights-errors"' in response.get_data(as_text=True)
    county = _client(app, make_user, login, COUNTY)
    assert 'id="scheme-save"' not in county.get("/assessment/scheme").get_data(as_text=True)
    refused = county.post("/assessment/scheme", data={k: str(v) for k, v in I.DEFAULT_WEIGHTS.items()})
    assert refused.status_code == 403
    good = dict.fromkeys(I.KEYS, 10) | {"roster_coverage": 20}
    response = province.post("/assessment/scheme", data={k: str(v) for k, v in good.items()})
    assert response.status_code == 302
    html = county.get("/assessment/scheme").get_data(as_text=True)
    assert 'name="roster_coverage" min="0" max="100" inputmode="numeric"\n           value="20"' in html


def test_refusals(app, make_user, login):
    village = _client(app, make_user, login, VILLAGE)
    assert 'id="nav-assessment"' not in village.get("/").get_data(as_text=True)
    assert village.get("/assessment").status_code == 403
    sibling = _client(app, make_user, login, OTHER_COUNTY)
    assert sibling.get(f"/assessment/units/{TOWNSHIP}").status_code == 404
    assert sibling.get(f"/assessment/units/{TOWNSHIP}/trend").status_code == 404
    assert sibling.get("/assessment", query_string={"unit": COUNTY}).status_code == 404
    partner = _client(app, make_user, login, TOWNSHIP, "reporter")
    for path in ("/assessment", f"/assessment/units/{VILLAGE}", "/assessment/scheme", "/assessment/export.xlsx"):
        assert partner.get(path).status_code == 403
