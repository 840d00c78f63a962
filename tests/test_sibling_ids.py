"""Every route that takes an id, API and pages, every method: an object of a sibling county answers 404.

The routes are enumerated from the URL map, so a new route joins automatically; a route whose id parameter has
no object in the mapping below fails the test until one is added."""

from __future__ import annotations

import re
from datetime import date

from hierarchy.scope import Scope, scoped
from tenant_app.auth.services import issue_token
from tenant_app.campaigns.models import CampaignAttachment, Notification
from tenant_app.children.imports import ChildImport
from tenant_app.children.models import ChildTransfer
from tenant_app.db import db
from tenant_app.links.models import MatchRun, RollMatch, RollRow, RollUpload, WorklistItem
from tenant_app.training.models import Attendance, Course
from tenant_app.workforce.models import Appointment, Cover, RosterImport, RosterPerson
from tests import tasks_factories
from tests.cases_factories import report_body
from tests.test_children_api import child_payload, make_id

make_campaign = tasks_factories.make_campaign

CALLER_COUNTY = "440203"
SIBLING_COUNTY = "440204"
SIBLING_VILLAGE = "440204001001"
SIBLING_OTHER_VILLAGE = "440204001002"
MISSING_ID = 2_147_000_000  # a valid id that no object has


def _bearer(app, user) -> dict:
    with app.app_context():
        session = db.new_session()
        try:
            token, _ = issue_token(session, user)
            session.commit()
        finally:
            session.close()
    return {"Authorization": f"Bearer {token}"}


def _sibling_objects(app, client, make_user, make_campaign) -> dict[str, int]:
    """One object of each kind in the sibling county: {url parameter name: id}."""
    director = make_user(SIBLING_VILLAGE, "staff")
    response = client.post("/api/v1/children", headers=_bearer(app, director),
                           json=child_payload(id_number=make_id(area=SIBLING_COUNTY)))
    assert response.status_code == 201, response.get_json()
    child = response.get_json()
    made = make_campaign(issuer=SIBLING_COUNTY, villages=(SIBLING_VILLAGE,),
                         attachments=[("通知.pdf", b"%PDF-1.4 sibling")])
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            attachment_id = session.query(CampaignAttachment.id).filter_by(campaign_id=made.id).scalar()
            notification = Notification(region_code=SIBLING_VILLAGE, campaign_id=made.id,
                                        task_id=made.tasks[SIBLING_VILLAGE], message="催办", sender_name="县")
            transfer = ChildTransfer(child_id=child["id"], region_code=SIBLING_VILLAGE,
                                     to_village=SIBLING_OTHER_VILLAGE, child_name=child["name"],
                                     requested_by_id=director.id)
            imp = ChildImport(region_code=SIBLING_VILLAGE, user_id=director.id, filename="名单.xlsx",
                              status="validated", total_rows=1, rows_done=1, errors=[], content=b"")
            roster_person = RosterPerson(region_code=SIBLING_VILLAGE, province_code="44", name="邻县主任", sex="male",
                                         id_number=make_id(birth="19800101", area=SIBLING_COUNTY), phone="13800000000")
            session.add_all([notification, transfer, imp, roster_person])
            session.flush()
            appointment = Appointment(region_code=SIBLING_VILLAGE, person_id=roster_person.id, post="director",
                                      employment="part_time", appointed_on=date(2025, 1, 1))
            cover = Cover(region_code=SIBLING_OTHER_VILLAGE, post="director", person_id=roster_person.id,
                          coverer_unit_code=SIBLING_VILLAGE, coverer_name="邻县主任", kind="neighbour_director",
                          since=date(2025, 1, 1))
            roster_import = RosterImport(region_code=SIBLING_COUNTY, user_id=director.id, filename="名册.xlsx",
                                         content=b"")
            course = Course(region_code=SIBLING_COUNTY, title="邻县培训", level="county", topic="policy",
                            starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 2), hours=8)
            session.add_all([appointment, cover, roster_import, course])
            session.flush()
            attendance = Attendance(region_code=SIBLING_VILLAGE, course_id=course.id, person_id=roster_person.id,
                                    course_ends_on=course.ends_on, hours_credited=8)
            session.add(attendance)
            session.add_all([appointment, cover, roster_import])
            ids = _sibling_rolls(session, director, child)
            session.commit()
            ids |= {"notification_id": notification.id, "transfer_id": transfer.id, "import_id": imp.id,
                   "person_id": roster_person.id, "appointment_id": appointment.id, "cover_id": cover.id,
                   "roster_import_id": roster_import.id, "course_id": course.id, "attendance_id": attendance.id}
        finally:
            session.close()
    case = client.post("/api/v1/reports", headers=_bearer(app, director),
                       json=report_body(village_code=SIBLING_VILLAGE, reporter_kind="staff"))
    assert case.status_code == 201, case.get_json()
    ids["case_id"] = case.get_json()["id"]
    return {"child_id": child["id"], "version": child["version"], "campaign_id": made.id,
            "task_id": made.tasks[SIBLING_VILLAGE], "attachment_id": attachment_id, "user_id": director.id, **ids}


def _sibling_rolls(session, director, child) -> dict[str, int]:
    """A sibling county's education bureau's roll version, its run and a grey match (ids after the commit)."""
    dept = {"region_code": SIBLING_COUNTY, "dept_unit": SIBLING_COUNTY, "dept_kind": "education"}
    upload = RollUpload(**dept, roll_kind="school", status="confirmed", version=1, is_current=True,
                        filename="学籍.csv", user_id=director.id)
    session.add(upload)
    session.flush()
    row = RollRow(**dept, upload_id=upload.id, line=2, student_no="J1", name="李小明", name_pinyin="li xiao ming",
                  sex="male", area_code=SIBLING_COUNTY, details={})
    run = MatchRun(**dept, upload_id=upload.id, status="done")
    session.add_all([row, run])
    session.flush()
    match = RollMatch(region_code=SIBLING_VILLAGE, dept_unit=SIBLING_COUNTY, dept_kind="education",
                      upload_id=upload.id, row_id=row.id, child_id=child["id"], score=80, method="fuzzy",
                      status="grey", roll_name="李小明")
    item = WorklistItem(region_code=SIBLING_VILLAGE, list_kind="dropout", subject_key=f"c{child['id']}",
                        child_id=child["id"], name="李小明", reason="not_on_roll", status="open")
    session.add_all([match, item])
    session.flush()
    return {"roll_upload_id": upload.id, "upload_id": upload.id, "roll_run_id": run.id, "roll_match_id": match.id,
            "worklist_item_id": item.id}


def test_every_id_route_answers_404_for_a_sibling_countys_object(app, client, make_user, make_campaign, login):
    objects = _sibling_objects(app, client, make_user, make_campaign)
    # An admin, so that no route refuses by role before the scope decides.
    admin = make_user(CALLER_COUNTY, "admin")
    api_headers = _bearer(app, admin)
    page_client = app.test_client()
    login(page_client, admin.username)

    def call(path: str, method: str) -> int:
        if path.startswith("/api/"):
            return client.open(path, method=method, headers=api_headers, json={}).status_code
        # A page read may redirect (a record's history is a part of the record's page): follow it.
        return page_client.open(path, method=method, data={}, follow_redirects=method == "GET").status_code

    unmapped, leaks, tried = set(), [], 0
    for rule in app.url_map.iter_rules():
        names = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IdConverter"]
        if not names:
            continue
        path, missing = rule.rule, rule.rule
        for name in names:
            if name not in objects:
                unmapped.add(f"{rule.rule} ({name})")
                continue
            path = re.sub(rf"<[^>]*:{name}>", str(objects[name]), path)
            missing = re.sub(rf"<[^>]*:{name}>", str(MISSING_ID), missing)
        # Any other parameter (a unit code) is the caller's own county.
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", CALLER_COUNTY, path)
        missing = re.sub(r"<(?:[^:>]+:)?[^>]+>", CALLER_COUNTY, missing)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = call(path, method)
            tried += 1
            # A read answers 404; a write may be refused earlier (an empty body: 422, a role: 403), but then
            # exactly as for an id that exists nowhere, so the answer says nothing of the sibling's object.
            if (method == "GET" and status != 404) or status < 400 or status != call(missing, method):
                leaks.append((method, path, status))
    assert unmapped == set(), "id routes without a sibling object in the test's mapping"
    assert leaks == [], leaks
    assert tried >= 60
