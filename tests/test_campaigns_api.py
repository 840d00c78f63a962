"""Campaigns, issuer side: creating (templates, field errors), publishing and the fan-out (counts,
idempotency), receipts at intermediate levels, closing and extending, the issued / received lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from hierarchy.scope import Scope, scoped
from sync.outbox import record_bulk
from tenant_app import clock
from tenant_app.campaigns.models import Campaign, CampaignReceipt, Task, TaskEvent
from tenant_app.db import db

PROVINCE, CITY, COUNTY, OTHER_COUNTY = "44", "4402", "440203", "440204"
TOWNSHIP, OTHER_TOWNSHIP = "440203001", "440203002"
VILLAGE, SIBLING_VILLAGE = "440203001002", "440203001003"
T = clock.today_cst()

QUESTIONS = [
    {"key": "children_visited", "label": "走访儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "risks", "label": "风险", "type": "multi_choice", "options": ["溺水隐患", "交通安全"]},
]


ALL = Scope(all_tenants=True)


def run(method: str, statement, params=None):
    """Read (or write and commit) as the operator, outside the API: the test's own checks."""
    with scoped(ALL):
        session = db.new_session()
        try:
            result = getattr(session, method)(statement, params)
            if method == "execute":
                return result.all()
            return list(result) if method == "scalars" else result
        finally:
            session.close()


def count_units(prefix: str, level: int) -> int:
    return run("scalar", text("SELECT count(*) FROM units WHERE code >= :lo AND code < :hi AND level = :l "
                              "AND NOT retired"), {"lo": prefix, "hi": prefix + ":", "l": level})


@pytest.fixture
def staff(make_user, token_for):
    """staff(code, role="staff") -> bearer headers of a new user of that unit."""

    def make(code: str, role: str = "staff", **kwargs) -> dict:
        return token_for(make_user(code, role, **kwargs).username)

    return make


@pytest.fixture
def campaign(client, staff):
    """campaign(issuer_code, publish=True, **fields) -> the campaign's JSON (published unless told)."""

    def make(issuer: str = COUNTY, publish: bool = True, headers=None, **fields):
        headers = headers or staff(issuer)
        body = {"title": "暑期安全排查", "kind": "questionnaire", "due_on": (T + timedelta(days=10)).isoformat(),
                "questions": QUESTIONS, **fields}
        response = client.post("/api/v1/campaigns", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
        if publish:
            response = client.post(f"/api/v1/campaigns/{data['id']}/publish", headers=headers)
            assert response.status_code == 202, response.get_json()
            data = response.get_json()
        data["headers"] = headers
        return data

    return make


def test_create_from_template_prefills_and_defaults(client, staff):
    headers = staff(PROVINCE)
    response = client.post("/api/v1/campaigns", headers=headers,
                           json={"template": "census", "due_on": (T + timedelta(days=30)).isoformat()})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["kind"] == "census" and data["template"] == "census" and data["status"] == "draft"
    assert data["title"] == "农村留守儿童和困境儿童摸底排查"
    assert [q["key"] for q in data["questions"]] == ["children_rechecked", "children_added", "children_exited",
                                                     "notes"]
    assert (data["target_level"], data["reviewer_level"]) == ("village", "township")
    assert data["starts_on"] == T.isoformat() and data["task_count"] == 0
    # what is given wins over the template
    response = client.post("/api/v1/campaigns", headers=headers, json={
        "template": "holiday_safety", "title": "寒假排查", "due_on": T.isoformat(), "target_level": 3,
        "reviewer_level": "city"})
    assert response.status_code == 201
    data = response.get_json()
    assert (data["title"], data["kind"], data["target_level"], data["reviewer_level"]) == (
        "寒假排查", "questionnaire", "county", "city")
    templates = client.get("/api/v1/campaign-templates", headers=headers).get_json()
    assert [t["name"] for t in templates] == ["census", "holiday_safety", "joint_guardianship"]
    assert {q["key"] for q in templates[2]["questions"]} == {
        "unattended_found", "guardianship_arranged", "dropouts_found", "returned_to_school", "unregistered_found",
        "registered"}


def test_bad_input_is_field_errors_and_writes_nothing(client, staff):
    headers = staff(COUNTY)
    before = run("scalar", select(func.count()).select_from(Campaign))
    # A kind or template outside the document's enums is refused by the schema, before the service runs.
    response = client.post("/api/v1/campaigns", headers=headers, json={
        "title": "x", "kind": "party", "due_on": T.isoformat(), "template": "nope"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"kind", "template"}
    # The service reports every rule that needs the issuer, the date or the questions at once.
    response = client.post("/api/v1/campaigns", headers=headers, json={
        "title": "", "kind": "questionnaire", "target_level": "county", "reviewer_level": 5,
        "due_on": (T - timedelta(days=1)).isoformat(),
        "questions": [{"key": "Bad Key", "label": "x", "type": "float"}]})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    for field in ("title", "target_level", "due_on", "questions.0.key", "questions.0.type"):
        assert field in errors, (field, errors)
    response = client.post("/api/v1/campaigns", headers=headers, json={
        "title": "x", "kind": "questionnaire", "reviewer_level": "village", "due_on": T.isoformat()})
    assert "reviewer_level" in response.get_json()["errors"]
    response = client.post("/api/v1/campaigns", headers=headers, json={"title": "x", "due_on": "tomorrow"})
    assert response.status_code == 422 and "due_on" in response.get_json()["errors"]
    assert run("scalar", select(func.count()).select_from(Campaign)) == before


@pytest.mark.parametrize(("code", "role"), [(VILLAGE, "staff"), (COUNTY, "viewer"), (COUNTY, "admin")])
def test_only_staff_of_province_to_township_issue(client, staff, code, role):
    response = client.post("/api/v1/campaigns", headers=staff(code, role), json={
        "title": "x", "kind": "questionnaire", "due_on": T.isoformat()})
    assert response.status_code == 403


def test_publish_fans_out_one_task_per_village_and_receipts_and_is_idempotent(client, campaign):
    data = campaign(COUNTY)
    assert data["status"] == "open"
    villages, townships = count_units(COUNTY, 5), count_units(COUNTY, 4)
    assert villages == 89 and townships == 7
    assert (data["task_count"], data["receipt_count"]) == (villages, townships)
    tasks = run("scalars", select(Task).where(Task.campaign_id == data["id"]))
    assert len(tasks) == villages and all(len(t.region_code) == 12 and t.region_code.startswith(COUNTY)
                                          for t in tasks)
    assert {t.reviewer_code == t.region_code[:9] for t in tasks} == {True}
    assert {(t.status, t.due_on.isoformat()) for t in tasks} == {("pending", data["due_on"])}
    assert run("scalar", select(func.count()).select_from(TaskEvent).where(
        TaskEvent.task_id.in_([t.id for t in tasks]))) == 0
    receipts = run("scalars", select(CampaignReceipt.region_code).where(CampaignReceipt.campaign_id == data["id"]))
    assert sorted(receipts) == sorted(c for c in receipts if len(c) == 9) and len(receipts) == townships
    again = client.post(f"/api/v1/campaigns/{data['id']}/publish", headers=data["headers"])
    assert again.status_code == 202
    assert (again.get_json()["task_count"], again.get_json()["version"] >= data["version"]) == (villages, True)
    assert run("scalar", select(func.count()).select_from(Task).where(Task.campaign_id == data["id"])) == villages


def test_province_campaign_receipts_at_every_intermediate_level(client, campaign):
    data = campaign(PROVINCE, target_level="township", reviewer_level="county")
    assert data["task_count"] == count_units(PROVINCE, 4)
    assert data["receipt_count"] == count_units(PROVINCE, 2) + count_units(PROVINCE, 3)
    levels = run("execute", select(func.length(CampaignReceipt.region_code), func.count())
                 .where(CampaignReceipt.campaign_id == data["id"])
                 .group_by(func.length(CampaignReceipt.region_code)))
    assert dict(levels) == {4: count_units(PROVINCE, 2), 6: count_units(PROVINCE, 3)}
    reviewers = set(run("scalars", select(Task.reviewer_code).where(Task.campaign_id == data["id"])))
    counties = set(run("scalars", select(CampaignReceipt.region_code).where(
        CampaignReceipt.campaign_id == data["id"], func.length(CampaignReceipt.region_code) == 6)))
    assert reviewers == counties


def test_receipt_acknowledge_and_note_seen_by_the_subtree_only(client, campaign, staff):
    data = campaign(PROVINCE)
    url = f"/api/v1/campaigns/{data['id']}/receipt"
    township = staff(TOWNSHIP)
    mine = client.get(url, headers=township).get_json()
    assert (mine["region_code"], mine["acknowledged"]) == (TOWNSHIP, False)
    assert client.post(url, json={"note": "x" * 4001}, headers=township).status_code == 422
    assert client.post(url, json={"note": "请各社区周五前完成"}, headers=staff(TOWNSHIP, "viewer")).status_code == 403
    done = client.post(url, json={"note": "请各社区周五前完成"}, headers=township).get_json()
    assert done["acknowledged"] and done["note"] == "请各社区周五前完成" and done["acknowledged_at"]
    county = staff(COUNTY)
    assert client.post(url, json={}, headers=county).get_json()["acknowledged"]
    # the village below sees its township's note; the township of a sibling does not
    detail = client.get(f"/api/v1/campaigns/{data['id']}", headers=staff(VILLAGE)).get_json()
    assert [(n["code"], n["note"]) for n in detail["receipt_notes"]] == [(TOWNSHIP, "请各社区周五前完成")]
    assert detail["my_task_id"] and detail["my_receipt"] is None
    assert client.get(url, headers=staff(VILLAGE)).status_code == 404
    other = client.get(f"/api/v1/campaigns/{data['id']}", headers=staff(OTHER_TOWNSHIP)).get_json()
    assert other["receipt_notes"] == [] and other["my_receipt"]["acknowledged"] is False
    progress = client.get(f"/api/v1/campaigns/{data['id']}/progress?unit={CITY}", headers=data["headers"]).get_json()
    row = next(c for c in progress["children"] if c["code"] == COUNTY)
    assert (row["receipts_acknowledged"], row["receipts_total"]) == (2, 1 + count_units(COUNTY, 4))


def test_lists_issued_and_received_and_drafts_stay_at_the_issuer(client, campaign, staff):
    published = campaign(PROVINCE)
    draft = campaign(PROVINCE, publish=False, headers=published["headers"], title="草稿")
    issued = client.get("/api/v1/campaigns?box=issued", headers=published["headers"]).get_json()
    assert {c["id"] for c in issued["items"]} >= {published["id"], draft["id"]}
    village = staff(VILLAGE)
    received = client.get("/api/v1/campaigns?box=received", headers=village).get_json()
    ids = {c["id"] for c in received["items"]}
    assert published["id"] in ids and draft["id"] not in ids
    assert client.get(f"/api/v1/campaigns/{draft['id']}", headers=village).status_code == 404
    assert client.get(f"/api/v1/campaigns/{draft['id']}", headers=staff(COUNTY)).status_code == 404
    county_only = campaign(PROVINCE, headers=published["headers"], target_level="county", reviewer_level="city")
    received = client.get("/api/v1/campaigns?box=received", headers=village).get_json()
    assert county_only["id"] not in {c["id"] for c in received["items"]}
    assert client.get("/api/v1/campaigns?box=sideways", headers=village).status_code == 422


def test_draft_edit_with_version_and_delete(client, campaign):
    draft = campaign(COUNTY, publish=False)
    url = f"/api/v1/campaigns/{draft['id']}"
    response = client.patch(url, json={"title": "改过的标题", "version": draft["version"]}, headers=draft["headers"])
    assert response.status_code == 200 and response.get_json()["title"] == "改过的标题"
    stale = client.patch(url, json={"title": "又改", "version": draft["version"]}, headers=draft["headers"])
    assert stale.status_code == 409
    assert client.patch(url, json={"kind": "nope", "version": response.get_json()["version"]},
                        headers=draft["headers"]).status_code == 422
    assert client.delete(url, headers=draft["headers"]).status_code == 204
    assert client.get(url, headers=draft["headers"]).status_code == 404
    published = campaign(COUNTY, headers=draft["headers"])
    assert client.patch(f"/api/v1/campaigns/{published['id']}", json={"title": "x", "version": published["version"]},
                        headers=draft["headers"]).status_code == 409
    assert client.delete(f"/api/v1/campaigns/{published['id']}", headers=draft["headers"]).status_code == 409


def test_close_and_only_the_issuer(client, campaign, staff):
    data = campaign(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/close"
    assert client.post(url, json={}, headers=staff(COUNTY, "viewer")).status_code == 403
    assert client.post(url, json={}, headers=staff(TOWNSHIP)).status_code == 403
    assert client.post(url, json={"version": data["version"] - 1}, headers=data["headers"]).status_code == 409
    closed = client.post(url, json={}, headers=data["headers"])
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert client.post(url, json={}, headers=data["headers"]).status_code == 409
    assert client.post(f"/api/v1/campaigns/{data['id']}/publish", headers=data["headers"]).status_code == 409


def _due_dates(campaign_id: int, prefix: str = "") -> set:
    return set(run("scalars", select(Task.due_on).where(Task.campaign_id == campaign_id,
                                                        Task.region_code.startswith(prefix))))


def test_extend_by_issuer_and_by_a_county_for_its_subtree(client, campaign, staff):
    data = campaign(PROVINCE, due_on=(T + timedelta(days=5)).isoformat())
    url = f"/api/v1/campaigns/{data['id']}/extend"
    county = staff(COUNTY)
    later = T + timedelta(days=9)
    response = client.post(url, json={"due_on": later.isoformat()}, headers=county)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["tasks_moved"] == count_units(COUNTY, 5)
    assert _due_dates(data["id"], COUNTY) == {later}
    assert _due_dates(data["id"], OTHER_COUNTY) == {T + timedelta(days=5)}
    receipt = client.get(f"/api/v1/campaigns/{data['id']}/receipt", headers=county).get_json()
    assert receipt["due_on"] == later.isoformat()
    assert client.get(f"/api/v1/campaigns/{data['id']}", headers=staff(VILLAGE)).get_json()["my_due_on"] == \
        later.isoformat()
    assert run("scalar", select(func.count()).select_from(TaskEvent).join(Task, Task.id == TaskEvent.task_id)
               .where(Task.campaign_id == data["id"], TaskEvent.kind == "extended")) == count_units(COUNTY, 5)
    # not later than the county's current date; not a township; not a viewer
    bad = client.post(url, json={"due_on": later.isoformat()}, headers=county)
    assert bad.status_code == 422 and "due_on" in bad.get_json()["errors"]
    assert client.post(url, json={"due_on": "2099-01-01"}, headers=staff(TOWNSHIP)).status_code == 403
    assert client.post(url, json={"due_on": "2099-01-01"}, headers=staff(COUNTY, "viewer")).status_code == 403
    assert client.post(url, json={}, headers=county).status_code == 422
    # the issuer moves everything due earlier than the new date, the county's later date included
    final = T + timedelta(days=20)
    response = client.post(url, json={"due_on": final.isoformat()}, headers=data["headers"])
    assert response.status_code == 200 and response.get_json()["tasks_moved"] == data["task_count"]
    assert _due_dates(data["id"]) == {final}
    detail = client.get(f"/api/v1/campaigns/{data['id']}", headers=data["headers"]).get_json()
    assert detail["due_on"] == final.isoformat()


def test_attachments_upload_download_and_refusals(client, campaign, staff):
    import io

    data = campaign(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/attachments"
    response = client.post(url, headers=data["headers"], content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"%PDF-1.4 directive"), "通知.pdf")})
    assert response.status_code == 201, response.get_json()
    attachment = response.get_json()
    assert (attachment["filename"], attachment["size"], attachment["content_type"]) == (
        "通知.pdf", 18, "application/pdf")
    download = client.get(f"{url}/{attachment['id']}", headers=staff(VILLAGE))
    assert download.status_code == 200 and download.data == b"%PDF-1.4 directive"
    assert client.get(f"{url}/{attachment['id']}", headers=staff("440204001001")).status_code == 404
    bad = client.post(url, headers=data["headers"], content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"MZ"), "run.exe")})
    assert bad.status_code == 422 and "file" in bad.get_json()["errors"]
    big = client.post(url, headers=data["headers"], content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"0" * (10 * 1024 * 1024 + 1)), "big.png")})
    assert big.status_code == 422
    assert client.post(url, headers=staff(VILLAGE), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"x"), "a.png")}).status_code == 403
    detail = client.get(f"/api/v1/campaigns/{data['id']}", headers=staff(VILLAGE)).get_json()
    assert [a["filename"] for a in detail["attachments"]] == ["通知.pdf"]


def set_tasks(campaign_id: int, codes, **values) -> None:
    with scoped(ALL):
        session = db.new_session()
        session.execute(update(Task).where(Task.campaign_id == campaign_id, Task.region_code.in_(list(codes)))
                        .values(**values))
        # As every write path does: the roll-up learns of the change (stored progress reads its figures).
        record_bulk(session, list(codes), "tasks")
        session.commit()
        session.close()
