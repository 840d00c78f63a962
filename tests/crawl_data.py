"""A real-sized dataset for the page crawl, built set-based on its own database in well under a minute.

Every list a person sees is longer than one page (50 rows): children due for a visit in a township and in one
village, overdue villages of a county and of the province, tasks of a village, the township's review queue,
campaigns issued by the county and received below it, users of a county, visits of a child, notifications,
transfers and audit rows. Every campaign state exists (draft, publishing, open before its deadline, open past
its deadline, closed), and the crawl runs with the clock frozen BEFORE and AFTER the open campaign's deadline.
One user per role at each level of one line of units, password PASSWORD.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter

from sqlalchemy import text

from hierarchy.scope import apply_db_scope, job_scope
from tenant_app import clock
from tests import crawl_links

PASSWORD = "Crawl-Passw0rd!"
PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = "44", "4402", "440203", "440203001", "440203001002"
SIBLING = "440203001003"
LINE = {"province": PROVINCE, "city": CITY, "county": COUNTY, "township": TOWNSHIP, "village": VILLAGE}
ROLES = ("admin", "staff", "viewer")
# Partner reporters (a school of the township, a police station of the county) and the cases of the line.
PARTNERS = {"township": ("school", "新华小学"), "county": ("police", "新华派出所")}
# A partner department (the county's education bureau) with its rolls (tests/crawl_links.py).
DEPARTMENT = "department"
CASES = 120  # every stage; the open ones filed long ago, so the overdue list is longer than a page too
CASE_STAGES = ("reported", "accepted", "emergency", "assessment", "help_plan", "follow_up", "closed",
               "screened_out")
NARRATIVE = "发现儿童独自在家，父母外出务工联系不上。"

TODAY = date(2026, 6, 15)  # the dataset's "today" in China Standard Time
DUE = TODAY + timedelta(days=5)  # the open campaign's deadline
BEFORE = datetime.combine(TODAY, time(10), tzinfo=clock.CST)  # before DUE has ended in China
AFTER = datetime.combine(DUE + timedelta(days=4), time(10), tzinfo=clock.CST)  # after it
COUNTY_CAMPAIGNS = 55
PER_LIST = 60  # rows of the smaller lists (notifications, transfers, audit, visits of a child, directors)

QUESTIONS = [
    {"key": "summary", "label": "工作小结", "type": "text", "required": True},
    {"key": "children_visited", "label": "走访儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "all_safe", "label": "是否全部安全", "type": "yes_no", "required": True},
    {"key": "main_risk", "label": "主要风险", "type": "choice", "required": False,
     "options": ["溺水隐患", "交通安全", "其他"]},
    {"key": "risks", "label": "发现的风险", "type": "multi_choice", "required": False,
     "options": ["溺水隐患", "交通安全", "监护缺失"]},
    {"key": "checked_on", "label": "排查日期", "type": "date", "required": True},
]
ANSWERS = {"summary": "已完成排查", "children_visited": 12, "all_safe": True, "main_risk": "溺水隐患",
           "risks": ["溺水隐患"], "checked_on": "2026-06-01"}
CENSUS_QUESTIONS = [
    {"key": "children_rechecked", "label": "复核儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "notes", "label": "备注", "type": "text", "required": False},
]


def username(level: str, role: str) -> str:
    return f"crawl-{level}-{role}"


def _utc(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clock.CST).astimezone(UTC)


def _campaign(conn, *, issuer: str, title: str, kind: str, status: str, due_on: date, questions: list,
              target_level: int = 5, reviewer_level: int = 4, created: datetime) -> int:
    return conn.execute(text("""
        INSERT INTO campaigns (issuer_code, title, directive, kind, target_level, reviewer_level, starts_on, due_on,
                               questions, status, task_count, receipt_count, created_at, published_at, version)
        VALUES (:issuer, :title, '请各村认真开展工作。', :kind, :target, :reviewer, :starts, :due, :questions,
                :status, 0, 0, :created, :published, 1)
        RETURNING id"""), {
        "issuer": issuer, "title": title, "kind": kind, "target": target_level, "reviewer": reviewer_level,
        "starts": due_on - timedelta(days=30), "due": due_on, "questions": json.dumps(questions, ensure_ascii=False),
        "status": status, "created": created, "published": None if status == "draft" else created}).scalar_one()


def build(app) -> dict:
    """Fill the (empty, migrated) database of `app`; returns what the crawl needs to know."""
    from hierarchy.loader import load_regions
    from sync import rollup
    from tenant_app.auth.passwords import hash_password
    from tenant_app.campaigns.fanout import fan_out
    from tenant_app.children.demo import generate_children
    from tenant_app.db import db
    from tests.conftest import REGIONS

    timings: dict[str, float] = {}
    mark = perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = perf_counter()
        timings[name] = round(now - mark, 2)
        mark = now

    password_hash = hash_password(PASSWORD)
    created = _utc(TODAY - timedelta(days=40))
    with app.app_context(), clock.frozen(BEFORE), db.engine.begin() as conn, \
            job_scope(all_tenants=True) as scope:
        apply_db_scope(conn, scope)
        load_regions(conn, [REGIONS / "shaoguan"])
        lap("regions")
        # Children: a township of ~1,200 (about 70 a village) and one village with 70 more.
        generate_children(conn, 1200, TOWNSHIP, today=TODAY)
        generate_children(conn, 70, VILLAGE, seed=7, today=TODAY)
        apply_db_scope(conn, scope)
        lap("children")
        # Created long ago and never visited: every one of them is overdue for a visit.
        conn.execute(text("UPDATE children SET created_at = :at, updated_at = :at"),
                     {"at": _utc(TODAY - timedelta(days=400))})

        # People: one per role at each level of the line; a director in every village of the county.
        users = [(code, username(level, role), role, f"巡检{level}{role}") for level, code in LINE.items()
                 for role in ROLES]
        conn.execute(text("""
            INSERT INTO users (region_code, username, password_hash, role, real_name, phone, active, auth_epoch,
                               created_at, updated_at)
            VALUES (:code, :username, :hash, :role, :name, '13800000000', true, 0, now(), now())"""),
                     [{"code": c, "username": u, "role": r, "name": n, "hash": password_hash} for c, u, r, n in users])
        conn.execute(text("""
            INSERT INTO users (region_code, username, password_hash, role, real_name, phone, active, auth_epoch,
                               created_at, updated_at)
            SELECT u.code, 'director-' || u.code, :hash, 'staff', '主任' || right(u.code, 3), '13900000000', true, 0,
                   now(), now()
            FROM units u WHERE u.level = 5 AND u.code LIKE :county AND u.code <> :village"""),
                     {"hash": password_hash, "county": COUNTY + "%", "village": VILLAGE})

        lap("users")
        # Campaigns of every state. The province's go through the real fan-out (tasks and receipts).
        province = {}
        for key, title, kind, status, due_on in (
                ("open", "暑期安全专项排查", "questionnaire", "publishing", DUE),
                ("past_due", "年度摸底排查", "census", "publishing", TODAY - timedelta(days=3)),
                ("closed", "春季走访行动", "special_action", "publishing", TODAY - timedelta(days=20)),
                ("draft", "秋季开学排查（草稿）", "questionnaire", "draft", TODAY + timedelta(days=30)),
                ("publishing", "防溺水专项（下发中）", "special_action", "publishing", TODAY + timedelta(days=25))):
            cid = _campaign(conn, issuer=PROVINCE, title=title, kind=kind, status=status, due_on=due_on,
                            questions=CENSUS_QUESTIONS if kind == "census" else QUESTIONS, created=created)
            province[key] = cid
            if key != "publishing" and status == "publishing":
                fan_out(conn, cid)
        conn.execute(text("UPDATE campaigns SET status = 'closed', closed_at = :at WHERE id = :id"),
                     {"at": _utc(TODAY - timedelta(days=10)), "id": province["closed"]})
        conn.execute(text("""
            INSERT INTO campaign_attachments (campaign_id, issuer_code, filename, content_type, size, content,
                                              uploaded_at)
            VALUES (:id, :issuer, '排查方案.pdf', 'application/pdf', 9, :content, :at)"""),
                     {"id": province["open"], "issuer": PROVINCE, "content": b"%PDF-1.4\n", "at": created})
        # The county issues many campaigns to its villages, one task each.
        county_ids = []
        for n in range(COUNTY_CAMPAIGNS):
            cid = _campaign(conn, issuer=COUNTY, title=f"县级工作部署第{n + 1}号", kind="questionnaire",
                            status="open", due_on=TODAY + timedelta(days=n % 11 - 5), questions=QUESTIONS,
                            created=created + timedelta(minutes=n))
            county_ids.append(cid)
        conn.execute(text("""
            INSERT INTO tasks (campaign_id, region_code, reviewer_code, due_on)
            SELECT c.id, u.code, substr(u.code, 1, 9), c.due_on
            FROM campaigns c JOIN units u ON u.level = 5 AND u.code LIKE :county
            WHERE c.issuer_code = :issuer"""), {"county": COUNTY + "%", "issuer": COUNTY})
        conn.execute(text("""
            UPDATE campaigns SET task_count = (SELECT count(*) FROM tasks t WHERE t.campaign_id = campaigns.id)
            WHERE issuer_code = :issuer"""), {"issuer": COUNTY})
        # Work under way: a third submitted (the township's review queue), some approved, returned, drafts.
        conn.execute(text("""
            UPDATE tasks SET
              status = CASE id % 6 WHEN 0 THEN 'submitted' WHEN 1 THEN 'submitted' WHEN 2 THEN 'approved'
                                   WHEN 3 THEN 'returned' WHEN 4 THEN 'draft' ELSE 'pending' END,
              answers = CASE WHEN id % 6 = 5 THEN '{}' ELSE CAST(:answers AS json) END,
              return_reason = CASE WHEN id % 6 = 3 THEN '请补充走访情况' ELSE '' END,
              submitted_at = CASE WHEN id % 6 IN (0, 1, 2, 3) THEN CAST(:at AS timestamptz) END,
              updated_at = CAST(:at AS timestamptz)
            WHERE campaign_id IN (SELECT id FROM campaigns WHERE issuer_code = :issuer)
               OR (campaign_id = :open AND region_code LIKE :township)"""),
                     {"answers": json.dumps(ANSWERS, ensure_ascii=False), "at": _utc(TODAY - timedelta(days=2)),
                      "issuer": COUNTY, "open": province["open"], "township": TOWNSHIP + "%"})
        conn.execute(text("""
            INSERT INTO task_events (task_id, region_code, kind, actor_name, actor_unit_code, note, at)
            SELECT t.id, t.region_code, 'submitted', '巡检主任', t.region_code, '', t.submitted_at
            FROM tasks t WHERE t.submitted_at IS NOT NULL AND t.region_code = :village"""), {"village": VILLAGE})
        lap("campaigns")
        # Receipts: half acknowledged, some with a note for the subtree.
        conn.execute(text("""
            UPDATE campaign_receipts SET acknowledged_at = :at,
                   note = CASE WHEN id % 4 = 0 THEN '请按时完成' ELSE '' END,
                   note_at = CASE WHEN id % 4 = 0 THEN CAST(:at AS timestamptz) END
            WHERE id % 2 = 0"""), {"at": _utc(TODAY - timedelta(days=1), 23)})

        # Reminders to the village and the township, visits of the village's children (a child has more than
        # a page of them, long ago: still overdue), transfers requested and audit rows.
        for code in (VILLAGE, TOWNSHIP, COUNTY):
            conn.execute(text("""
                INSERT INTO notifications (region_code, kind, campaign_id, message, sender_code, sender_name,
                                           created_at)
                SELECT :code, 'reminder', :cid, '请尽快完成（第' || n || '次催办）', :sender, '武江区',
                       CAST(:at AS timestamptz) + n * interval '1 minute'
                FROM generate_series(1, :n) n"""),
                         {"code": code, "cid": county_ids[0], "sender": COUNTY, "at": _utc(TODAY - timedelta(days=3)),
                          "n": PER_LIST})
        conn.execute(text("""
            INSERT INTO visits (region_code, child_id, visited_on, visitor_name, met, findings,
                                follow_up, created_at)
            SELECT c.region_code, c.id, CAST(:day AS date) - n, '巡检主任', CAST('["child"]' AS json),
                   '家中情况正常', '', now()
            FROM children c CROSS JOIN generate_series(1, :n) n
            WHERE c.region_code = :village"""), {"day": TODAY - timedelta(days=400), "n": PER_LIST, "village": VILLAGE})
        conn.execute(text("""
            INSERT INTO child_transfers (child_id, region_code, to_village, child_name, id_number_masked, status,
                                         reason, requested_at)
            SELECT c.id, c.region_code, :sibling, c.name, '4402**********1234', 'requested', '随父母迁居', now()
            FROM children c WHERE c.region_code = :village ORDER BY c.id LIMIT :n"""),
                     {"sibling": SIBLING, "village": VILLAGE, "n": PER_LIST})
        conn.execute(text("""
            INSERT INTO audit_events (region_code, user_id, user_region_code, child_id, action, purpose, at)
            SELECT c.region_code, 1, c.region_code, c.id, 'read', '核对', now()
            FROM children c WHERE c.region_code = :village ORDER BY c.id LIMIT :n"""),
                     {"village": VILLAGE, "n": PER_LIST})
        lap("rows")
        _cases(conn, password_hash)
        lap("cases")
        _roster(conn)
        lap("roster")
        _training(conn)
        lap("training")
        crawl_links.build(conn, password_hash, county=COUNTY, village=VILLAGE, username=username("county", DEPARTMENT),
                          today=TODAY)
        lap("links")
        # Every unit's figures and the open campaigns' progress, as the worker would store them.
        conn.execute(text("DELETE FROM sync_outbox"))
        rollup.rebuild(conn)
        lap("figures")
        census_task = conn.execute(text("SELECT id FROM tasks WHERE campaign_id = :c AND region_code = :v"),
                                   {"c": province["past_due"], "v": VILLAGE}).scalar_one()
    return {"province_campaigns": province, "county_campaigns": county_ids, "census_task": census_task,
            "timings": timings}


def _cases(conn, password_hash: str) -> None:
    """Partner accounts and protection cases of the village in every stage, with their first timeline entries;
    two thirds filed by the township's school (its "my reports" is longer than a page), the rest by the county's
    police station. The open ones are overdue: filed 10 days ago and never moved on."""
    for level, (kind, org) in PARTNERS.items():
        conn.execute(text("""
            INSERT INTO users (region_code, username, password_hash, role, real_name, phone, active, auth_epoch,
                               created_at, updated_at, org_kind, org_name)
            VALUES (:code, :username, :hash, 'reporter', :name, '13700000000', true, 0, now(), now(), :kind, :org)
            """), {"code": LINE[level], "username": username(level, "reporter"), "hash": password_hash,
                   "name": f"巡检{level}报告人", "kind": kind, "org": org})
    filed = _utc(TODAY - timedelta(days=10))
    conn.execute(text("""
        INSERT INTO reports (region_code, occurred_village_code, category, urgency, occurred_at, narrative,
                             unknown_child_description, reporter_kind, reporter_name, reporter_contact,
                             reporter_user_id, reporter_unit_code, filed_at)
        SELECT :village, :village,
               (ARRAY['living_alone', 'missing', 'guardian_failing', 'domestic_violence', 'injury_or_harm',
                      'sexual_harm', 'abandonment', 'abduction_or_begging'])[1 + n % 8],
               CASE WHEN n % 3 = 0 THEN 'emergency' ELSE 'normal' END, CAST(:filed AS timestamptz), :narrative,
               '约10岁儿童', u.org_kind, u.org_name || ' ' || u.real_name, u.phone, u.id, u.region_code,
               CAST(:filed AS timestamptz) + n * interval '1 minute'
        FROM generate_series(1, :n) n
        JOIN users u ON u.username = CASE WHEN n % 3 = 2 THEN :county_partner ELSE :township_partner END"""),
                 {"village": VILLAGE, "filed": filed, "narrative": NARRATIVE, "n": CASES,
                  "county_partner": username("county", "reporter"),
                  "township_partner": username("township", "reporter")})
    conn.execute(text("""
        INSERT INTO cases (region_code, township_code, county_code, province_code, report_id, category, urgency,
                           stage, risk_level, guardianship_intervention, screen_out_reason, outcome, outcome_summary,
                           reported_at, cycle_started_at, accepted_at, first_measure_at, assessed_at, help_plan_at,
                           closed_at, reopen_count, version, updated_at)
        SELECT r.region_code, :township, :county, :province, r.id, r.category, r.urgency, s.stage,
               CASE WHEN s.rank >= 4 AND s.rank <= 7 THEN 'high' END, false,
               CASE WHEN s.stage = 'screened_out' THEN '经核实不属于强制报告情形' ELSE '' END,
               CASE WHEN s.stage = 'closed' THEN 'placed' END,
               CASE WHEN s.stage = 'closed' THEN '已妥善安置' ELSE '' END,
               r.filed_at, r.filed_at,
               CASE WHEN s.rank BETWEEN 2 AND 7 THEN r.filed_at + interval '1 hour' END,
               CASE WHEN s.rank BETWEEN 3 AND 7 THEN r.filed_at + interval '2 hours' END,
               CASE WHEN s.rank BETWEEN 5 AND 7 THEN r.filed_at + interval '2 days' END,
               CASE WHEN s.rank BETWEEN 5 AND 7 THEN r.filed_at + interval '3 days' END,
               CASE WHEN s.stage = 'closed' THEN r.filed_at + interval '8 days' END, 0, 1, r.filed_at
        FROM reports r
        JOIN unnest(CAST(:stages AS text[])) WITH ORDINALITY AS s(stage, rank) ON s.rank = 1 + r.id % 8"""),
                 {"township": TOWNSHIP, "county": COUNTY, "province": PROVINCE, "stages": list(CASE_STAGES)})
    conn.execute(text("""
        INSERT INTO case_actions (case_id, region_code, kind, stage, data, note, by_user_id, by_unit_code, at)
        SELECT c.id, c.region_code, 'filed', 'reported',
               CAST('{"category": "' || c.category || '", "urgency": "' || c.urgency || '"}' AS json), '',
               r.reporter_user_id, r.reporter_unit_code, c.reported_at
        FROM cases c JOIN reports r ON r.id = c.report_id"""))
    conn.execute(text("""
        INSERT INTO case_actions (case_id, region_code, kind, stage, data, note, by_user_id, by_unit_code, at)
        SELECT c.id, c.region_code, 'stage_change', 'reported',
               CAST('{"from": "reported", "to": "' || c.stage || '"}' AS json), '', NULL, :county,
               c.reported_at + interval '1 hour'
        FROM cases c WHERE c.stage <> 'reported'"""), {"county": COUNTY})
    conn.execute(text("""
        INSERT INTO case_children (case_id, child_id, region_code)
        SELECT c.id, (SELECT ch.id FROM children ch WHERE ch.region_code = c.region_code ORDER BY ch.id
                      OFFSET c.id % 50 LIMIT 1), c.region_code
        FROM cases c WHERE c.id % 2 = 0"""))


def _roster(conn) -> None:
    """The county's roster: a supervisor in every township, a director in most villages with a former one
    before (the people list is longer than a page), the sibling village vacant and covered by the township's
    supervisor, and the province's other villages never filled (the vacancy list is longer than a page)."""
    from tenant_app.children.idcard import check_char

    units = conn.execute(text("SELECT code FROM units WHERE code LIKE :county AND level IN (4, 5) ORDER BY code"),
                         {"county": COUNTY + "%"}).scalars().all()
    filled = [c for i, c in enumerate(units) if c != SIBLING and (len(c) == 9 or i % 5)]
    people, appointments = [], []
    for n, code in enumerate(filled):
        for former in (False, True):
            first17 = f"{COUNTY}1980{n % 12 + 1:02d}{n % 28 + 1:02d}{(2 * n + former) % 1000:03d}"
            pid = first17 + check_char(first17)
            people.append({"code": code, "name": ("前任" if former else "主任") + code[-4:],
                           "sex": "male" if int(first17[-1]) % 2 else "female", "idn": first17 + check_char(first17)})
            appointments.append({"code": code, "pid": pid, "post": "director" if len(code) == 12 else "supervisor",
                                 "emp": "part_time" if former else "full_time", "other": "村委委员" if former else "",
                                 "on": date(2020, 3, 1) if former else date(2025, 1, 1),
                                 "left": date(2024, 12, 31) if former else None, "why": "换届" if former else ""})
    conn.execute(text("""
        INSERT INTO roster_people (region_code, province_code, name, sex, id_number, phone, qualifications,
                                   version, created_at, updated_at)
        VALUES (:code, '44', :name, :sex, :idn, '13700000000', '', 1, now(), now())"""), people)
    ids = dict(conn.execute(text("SELECT id_number, id FROM roster_people")).all())
    for row in appointments:
        row["pid"] = ids[row["pid"]]
    conn.execute(text("""
        INSERT INTO roster_appointments (region_code, person_id, post, employment, other_post, appointed_on, left_on,
                                         leave_reason, version, created_at, updated_at)
        VALUES (:code, :pid, :post, :emp, :other, :on, :left, :why, 1, now(), now())"""), appointments)
    supervisor = next(p for p in people if p["code"] == TOWNSHIP and p["name"].startswith("主任"))
    conn.execute(text("""
        INSERT INTO roster_covers (region_code, post, person_id, coverer_unit_code, coverer_name, coverer_phone, kind,
                                   since, note, version, created_at, updated_at)
        VALUES (:code, 'director', :pid, :township, :name, '13700000000', 'township_supervisor', :since, '', 1,
                now(), now())"""), {"code": SIBLING, "pid": ids[supervisor["idn"]], "township": TOWNSHIP,
                                    "name": supervisor["name"], "since": TODAY - timedelta(days=30)})


COURSES = 60  # the county's courses: the course list is longer than a page


def _training(conn) -> None:
    """The county's courses (every topic, this year and last), each attended by the directors and supervisors
    in post in the county: the course list and a course's attendance are longer than a page."""
    conn.execute(text("""
        INSERT INTO training_courses (region_code, title, level, topic, starts_on, ends_on, hours, note, version,
                                      created_at, updated_at)
        SELECT :county, '儿童关爱业务培训第' || n || '期', 'county',
               (ARRAY['policy', 'visits', 'mandatory_reporting', 'psychology', 'safety', 'other'])[n % 6 + 1],
               CAST(:today AS date) - 7 * n, CAST(:today AS date) - 7 * n + 1, 4 + n % 5, '', 1, now(), now()
        FROM generate_series(1, :n) AS n"""), {"county": COUNTY, "today": TODAY, "n": COURSES})
    conn.execute(text("""
        INSERT INTO training_attendance (region_code, course_id, person_id, course_ends_on, course_title, attended,
                                         hours_credited, passed, certificate_no, version, created_at, updated_at)
        SELECT a.region_code, c.id, a.person_id, c.ends_on, c.title, (a.person_id + c.id) % 7 <> 0,
               CASE WHEN (a.person_id + c.id) % 7 <> 0 THEN c.hours ELSE 0 END, (a.person_id + c.id) % 7 > 1,
               CASE WHEN (a.person_id + c.id) % 7 > 1 THEN 'WJ' || c.id || '-' || a.person_id ELSE '' END,
               1, now(), now()
        FROM roster_appointments a JOIN training_courses c ON c.region_code = :county AND c.id % 10 = 0
        WHERE a.left_on IS NULL AND a.region_code LIKE :prefix"""), {"county": COUNTY, "prefix": COUNTY + "%"})
