"""Escalation of overdue steps: a scheduled job over every open case, set-based, idempotent.

A step past its limit is escalated to level 1: the handling county and the unit above it (the city) are
notified. When a further limit passes with the step still not done (the end of twice the limit from the
step's start, by the same rules as the first: hours, or CST days) it goes to level 2 and the province is
notified. The level belongs to the step: when the case moves on, the next step starts again at 0.

Each case keeps the step and level it was last escalated for, so a run notifies only the levels newly
reached since the last one: run twice, notify once. Runs are serialised by a transaction-scoped advisory lock
(PostgreSQL), so two workers at once cannot both see a level as new. Per province (its own limits) one
SELECT finds the cases whose level changed and one UPDATE … FROM records the new levels; the notifications are
one multi-row INSERT. The changed cases' villages get outbox rows, so the roll-up recounts overdue and
escalated figures after the commit.
"""

from __future__ import annotations

from sqlalchemy import and_, case, literal, or_, select, text, update

from hierarchy.models import Unit, UTCDateTime
from sync import outbox
from tenant_app import clock
from tenant_app.campaigns.models import Notification
from tenant_app.cases import deadlines
from tenant_app.cases import enums as E
from tenant_app.cases.models import Case

ESCALATION_LOCK = 7_214_305_013  # pg_advisory_xact_lock key: one escalation run at a time
KIND = "case_overdue"
# The stages whose clock runs (sync.case_figures counts the same).
RUNNING = ("reported", *E.CLOCKED_STAGES, *E.FOLLOW_UP_STAGES)
LEVELS = {1: "县级、市级", 2: "省级"}


def _levels(policy: dict, now):
    """(step, level) of every case as SQL: level 2 once the second limit has passed, 1 once the first."""
    step, due, _ = deadlines.clock_columns(policy, now)
    _, due_twice, _ = deadlines.clock_columns(policy, now, factor=2)
    at = literal(now, UTCDateTime())
    level = case((due_twice.element <= at, 2), (due.element <= at, 1), else_=0)
    return step.element, level


def _changes(session, province: str, now):
    """Cases of the province whose escalation changes now: (id, region, county, category, step, old, new)."""
    policy, _ = deadlines.policy_for(session, province)
    step, level = _levels(policy, now)
    current = (select(Case.id.label("case_id"), step.label("step"), level.label("level"))
               .where(Case.province_code == province,
                      or_(Case.stage.in_(RUNNING), Case.escalation_level > 0)).subquery("current"))
    same_step = or_(and_(Case.escalation_step.is_(None), current.c.step.is_(None)),
                    Case.escalation_step == current.c.step)
    changed = or_(~same_step, Case.escalation_level != current.c.level)
    rows = session.execute(
        select(Case.id, Case.region_code, Case.county_code, Case.category, current.c.step, current.c.level,
               case((same_step, Case.escalation_level), else_=0).label("old_level"))
        .join(current, current.c.case_id == Case.id).where(changed)).all()
    return rows, current, changed


def _notifications(rows, now) -> list[dict]:
    """One notification per unit per newly reached level: the county and the city at 1, the province at 2."""
    found = []
    for row in rows:
        for level in range(row.old_level + 1, row.level + 1):
            units = (row.county_code, row.county_code[:4]) if level == 1 else (row.county_code[:2],)
            title = (f"案件逾期督办（{LEVELS[level]}）：{E.CATEGORIES.get(row.category, row.category)}，"
                     f"{E.STEPS.get(row.step, row.step)}超过时限")
            for unit in units:
                found.append({"region_code": unit, "province_code": unit[:2], "kind": KIND, "title": title[:200],
                              "link": f"/cases/{row.id}", "message": f"案件编号 {row.id}", "sender_code": None,
                              "sender_name": "", "created_at": now})
    return found


def escalate(session) -> dict:
    """The job body (all-tenants scope, the caller's transaction): record the new escalation levels and
    notify. Returns {cases, notifications}."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ESCALATION_LOCK})
    now = clock.now()
    provinces = session.scalars(select(Case.province_code).where(
        or_(Case.stage.in_(RUNNING), Case.escalation_level > 0)).distinct()).all()
    report = {"cases": 0, "notifications": 0}
    villages: set[str] = set()
    for province in sorted(provinces):
        rows, current, changed = _changes(session, province, now)
        if not rows:
            continue
        ids = [row.id for row in rows]
        # Outside `version`: the escalation is the clock's, not a change anyone made to the case.
        session.execute(update(Case).where(Case.id == current.c.case_id, Case.id.in_(ids), changed)
                        .values(escalation_step=current.c.step, escalation_level=current.c.level,
                                escalated_at=case((current.c.level > 0, literal(now, UTCDateTime())),
                                                  else_=Case.escalated_at))
                        .execution_options(synchronize_session=False))
        notes = _notifications(rows, now)
        if notes:
            existing = set(session.scalars(select(Unit.code).where(Unit.code.in_({n["region_code"] for n in notes}))))
            notes = [n for n in notes if n["region_code"] in existing]
            if notes:
                session.execute(Notification.__table__.insert(), notes)
        report["cases"] += len(rows)
        report["notifications"] += len(notes)
        villages.update(row.region_code for row in rows)
    if villages:
        outbox.record_bulk(session, villages, "cases")
    return report


def run() -> dict:
    """The scheduled job: one transaction with the all-tenants scope (sync.jobs.run_scoped sets it)."""
    from tenant_app.db import db

    with db.session_scope() as session:
        return escalate(session)

