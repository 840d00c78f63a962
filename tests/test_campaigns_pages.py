"""Campaign pages: the form with templates and field errors, publishing with the fan-out's status, the
receipt, the tracking page with drill-down, reminders and export, and the home-page panel."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

from openpyxl import load_workbook

from tenant_app import clock
from tests import test_campaigns_api as base
from tests.test_campaigns_api import COUNTY, PROVINCE, TOWNSHIP, VILLAGE, count_units

T = clock.today_cst()
staff = base.staff
campaign = base.campaign


def form(**overrides) -> dict:
    questions = [{"key": "visited", "label": "走访数", "type": "integer", "required": True, "min": 0}]
    data = {"title": "春节走访", "directive": "请全面走访", "kind": "questionnaire", "target_level": "5",
            "reviewer_level": "", "starts_on": T.isoformat(), "due_on": (T + timedelta(days=7)).isoformat(),
            "questions_json": json.dumps(questions, ensure_ascii=False)}
    data.update(overrides)
    return data


def test_issue_from_the_form_then_publish_and_see_the_fan_out(client, make_user, login):
    user = make_user(PROVINCE, "staff")
    login(client, user.username)
    page = client.get("/campaigns/new?template=census").get_data(as_text=True)
    for element in ('id="campaign-form"', 'id="template-census"', 'id="template-holiday_safety"',
                    'id="question-builder"', 'name="questions_json"', "children_rechecked", "campaigns.js"):
        assert element in page, element
    bad = client.post("/campaigns/new", data=form(title="", due_on="2020-13-01", questions_json="[{\"key\": 1}]"))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="title-errors"' in text and 'id="due_on-errors"' in text and 'id="questions-errors"' in text
    not_json = client.post("/campaigns/new", data=form(questions_json="{oops"))
    assert not_json.status_code == 422 and 'id="questions-errors"' in not_json.get_data(as_text=True)
    created = client.post("/campaigns/new", data=form())
    assert created.status_code == 302
    detail_url = created.headers["Location"]
    campaign_id = int(re.search(r"/campaigns/(\d+)", detail_url).group(1))
    page = client.get(detail_url).get_data(as_text=True)
    assert 'id="publish"' in page and "春节走访" in page and 'data-status="draft"' in page
    published = client.post(f"/campaigns/{campaign_id}/publish")
    assert published.status_code == 302
    page = client.get(detail_url).get_data(as_text=True)
    assert 'data-status="open"' in page and 'id="track-link"' in page
    villages = count_units(PROVINCE, 5)
    assert f'<strong id="task-count">{villages}</strong>' in page
    status = client.get(f"/campaigns/{campaign_id}/status.json").get_json()
    assert status == {"status": "open", "task_count": villages, "receipt_count": status["receipt_count"]}
    assert status["receipt_count"] == count_units(PROVINCE, 2) + count_units(PROVINCE, 3) + count_units(PROVINCE, 4)
    listing = client.get("/campaigns?box=issued").get_data(as_text=True)
    assert 'id="campaign-list"' in listing and "春节走访" in listing


def test_village_and_viewer_cannot_open_the_form(client, make_user, login):
    login(client, make_user(VILLAGE, "staff").username)
    assert client.get("/campaigns/new").status_code == 403
    assert 'id="new-campaign"' not in client.get("/campaigns").get_data(as_text=True)


def test_receipt_on_the_detail_page_and_note_below(client, campaign, make_user, login):
    data = campaign(PROVINCE)
    township = make_user(TOWNSHIP, "staff")
    login(client, township.username)
    page = client.get(f"/campaigns/{data['id']}").get_data(as_text=True)
    assert 'id="receipt-form"' in page and 'id="receipt-done"' not in page
    home = client.get("/").get_data(as_text=True)
    assert 'id="pending-receipts"' in home and data["title"] in home
    response = client.post(f"/campaigns/{data['id']}/receipt", data={"note": "务必入户核实"})
    assert response.status_code == 302
    assert 'id="receipt-done"' in client.get(f"/campaigns/{data['id']}").get_data(as_text=True)
    assert 'id="pending-receipts"' not in client.get("/").get_data(as_text=True)
    village = make_user(VILLAGE, "staff")
    login(client, village.username)
    page = client.get(f"/campaigns/{data['id']}").get_data(as_text=True)
    assert 'id="receipt-notes"' in page and "务必入户核实" in page and 'id="receipt-form"' not in page


def test_tracking_page_drills_down_reminds_and_exports(client, campaign, make_user, login):
    data = campaign(PROVINCE)
    county = make_user(COUNTY, "staff")
    login(client, county.username)
    page = client.get(f"/campaigns/{data['id']}/track").get_data(as_text=True)
    for element in ('id="progress-table"', 'id="overdue-list"', 'id="remind-form"', 'id="export"',
                    'id="answer-summary"', f'data-code="{TOWNSHIP}"'):
        assert element in page, element
    assert f'href="/campaigns/{data["id"]}/track?unit={TOWNSHIP}"' in page
    assert client.get(f"/campaigns/{data['id']}/track?unit=440204").status_code == 404
    township_page = client.get(f"/campaigns/{data['id']}/track?unit={TOWNSHIP}").get_data(as_text=True)
    assert f'data-code="{VILLAGE}"' in township_page and 'id="up"' in township_page
    response = client.post(f"/campaigns/{data['id']}/remind",
                           data={"unit": TOWNSHIP, "units": [VILLAGE], "message": "请今天完成"})
    assert response.status_code == 302
    whole = client.post(f"/campaigns/{data['id']}/remind", data={"unit": COUNTY, "subtree": "1"})
    assert whole.status_code == 302
    export = client.get(f"/campaigns/{data['id']}/export.xlsx?unit={TOWNSHIP}")
    assert export.status_code == 200
    assert load_workbook(io.BytesIO(export.data)).sheetnames == ["进度", "填报结果", "汇总"]
    village = make_user(VILLAGE, "staff")
    login(client, village.username)
    home = client.get("/").get_data(as_text=True)
    assert home.count('class="notification"') == 2 and "请今天完成" in home
    notification_id = int(re.search(r'id="notification-(\d+)"', home).group(1))
    assert client.post(f"/notifications/{notification_id}/read").status_code == 302
    assert client.get("/").get_data(as_text=True).count('class="notification"') == 1
    assert count_units(COUNTY, 5) > 1


def test_close_and_extend_forms(client, campaign, make_user, login):
    data = campaign(COUNTY)
    issuer = make_user(COUNTY, "staff")
    login(client, issuer.username)
    page = client.get(f"/campaigns/{data['id']}").get_data(as_text=True)
    assert 'id="extend-form"' in page and 'id="close"' in page
    later = (T + timedelta(days=30)).isoformat()
    assert client.post(f"/campaigns/{data['id']}/extend", data={"due_on": later}).status_code == 302
    assert f'id="due-on">{later}<' in client.get(f"/campaigns/{data['id']}").get_data(as_text=True)
    refused = client.post(f"/campaigns/{data['id']}/extend", data={"due_on": T.isoformat()},
                          follow_redirects=True)
    assert "alert-error" in refused.get_data(as_text=True)
    assert client.post(f"/campaigns/{data['id']}/close", data={}).status_code == 302
    assert 'data-status="closed"' in client.get(f"/campaigns/{data['id']}").get_data(as_text=True)
