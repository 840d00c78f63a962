"""Factories for task tests: a published campaign with its tasks, inserted directly (no fan-out needed), and
the people who work on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest

from hierarchy.scope import Scope, scoped
from tenant_app import clock
from tenant_app.campaigns.models import Campaign, CampaignAttachment, CampaignReceipt, Task
from tenant_app.db import db

TOWNSHIP = "440203001"
VILLAGE = "440203001002"
SIBLING = "440203001003"
THIRD = "440203001004"
VILLAGES = (VILLAGE, SIBLING, THIRD)
OTHER_TOWNSHIP_VILLAGE = "440203002001"
COUNTY = "440203"

QUESTIONS = [
    {"key": "summary", "label": "工作小结", "type": "text", "required": True},
    {"key": "children_visited", "label": "走访儿童数", "type": "integer", "required": True, "min": 0, "max": 10000},
    {"key": "budget", "label": "经费（万元）", "type": "number", "required": False, "min": 0},
    {"key": "all_safe", "label": "是否全部安全", "type": "yes_no", "required": True},
    {"key": "main_risk", "label": "主要风险", "type": "choice", "required": False,
     "options": ["溺水隐患", "交通安全", "其他"]},
    {"key": "risks", "label": "发现的风险", "type": "multi_choice", "required": False,
     "options": ["溺水隐患", "交通安全", "监护缺失"]},
    {"key": "checked_on", "label": "排查日期", "type": "date", "required": True},
]

VALID = {"summary": "已完成排查", "children_visited": 12, "budget": 1.5, "all_safe": True,
         "main_risk": "溺水隐患", "risks": ["溺水隐患", "监护缺失"], "checked_on": "2026-07-01"}

CENSUS_QUESTIONS = [
    {"key": "children_rechecked", "label": "复核儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "children_added", "label": "新增儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "children_exited", "label": "退出儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "notes", "label": "备注", "type": "text", "required": False},
]


@dataclass
class Made:
    id: int
    tasks: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def make_campaign(app):
    """make_campaign(kind=, questions=, villages=, due_on=, status=, issuer=, published_at=, notes={code: note},
    attachments=[(filename, bytes)]) -> Made(id, tasks={village: task_id}); committed into the test's
    transaction (rolled back afterwards)."""

    def make(*, kind: str = "questionnaire", questions=None, villages=VILLAGES, due_on: date | None = None,
             status: str = "open", issuer: str = "44", title: str = "寒暑假重点时段排查",
             published_at: datetime | None = None, notes: dict | None = None, attachments=()) -> Made:
        due_on = due_on or clock.today_cst() + timedelta(days=10)
        if questions is None:
            questions = CENSUS_QUESTIONS if kind == "census" else QUESTIONS
        with scoped(Scope(all_tenants=True)):
            session = db.new_session()
            try:
                campaign = Campaign(
                    issuer_code=issuer, title=title, directive="请各村认真开展排查工作。", kind=kind,
                    target_level=5, reviewer_level=4, starts_on=due_on - timedelta(days=30), due_on=due_on,
                    questions=questions, status=status, task_count=len(villages),
                    published_at=None if status == "draft" else (published_at or clock.now() - timedelta(hours=1)),
                    created_at=clock.now() - timedelta(days=1))
                session.add(campaign)
                session.flush()
                made = Made(campaign.id)
                for code in villages:
                    task = Task(campaign_id=campaign.id, region_code=code, reviewer_code=code[:9], due_on=due_on,
                                status="pending", answers={})
                    session.add(task)
                    session.flush()
                    made.tasks[code] = task.id
                for code, note in (notes or {}).items():
                    session.add(CampaignReceipt(campaign_id=campaign.id, region_code=code, note=note,
                                                note_at=clock.now(), acknowledged_at=clock.now()))
                for filename, content in attachments:
                    session.add(CampaignAttachment(campaign_id=campaign.id, issuer_code=issuer, filename=filename,
                                                   content_type="application/pdf", size=len(content),
                                                   content=content))
                session.commit()
            finally:
                session.close()
        return made

    return make


@pytest.fixture
def close_campaign(app):
    def close(campaign_id: int) -> None:
        with scoped(Scope(all_tenants=True)):
            session = db.new_session()
            try:
                campaign = session.get(Campaign, campaign_id)
                campaign.status = "closed"
                campaign.closed_at = clock.now()
                session.commit()
            finally:
                session.close()

    return close


@pytest.fixture
def people(app, make_user):
    """Headers of the usual actors: director (VILLAGE staff), sibling (SIBLING staff), supervisor (TOWNSHIP
    staff), county (COUNTY staff), viewer (VILLAGE viewer), other_supervisor (another township's staff); and
    the users as `<key>_user`. Tokens come from the application's own issue_token, without a password check
    (a login costs a slow password hash; logging in is tested elsewhere)."""
    from tenant_app.auth.services import issue_token

    wanted = {"director": (VILLAGE, "staff", "王主任"), "sibling": (SIBLING, "staff", "李主任"),
              "supervisor": (TOWNSHIP, "staff", "张督导"), "county": (COUNTY, "staff", "县民政"),
              "viewer": (VILLAGE, "viewer", "只读员"), "other_supervisor": ("440203002", "staff", "赵督导")}
    result = {}
    for key, (code, role, name) in wanted.items():
        user = make_user(code, role, real_name=name)
        with app.app_context():
            session = db.new_session()
            try:
                token, _ = issue_token(session, user)
                session.commit()
            finally:
                session.close()
        result[key] = {"Authorization": f"Bearer {token}"}
        result[key + "_user"] = user
    return result
