"""Campaigns and directives (工作部署), the tasks they fan out to, receipts, timelines and reminders.

Ownership (the scope column of each table):
- a campaign and its attachments belong to the issuing unit; its subtree and its ancestors can read it;
- a task belongs to its target unit (usually a village); the units above it see it through their subtree;
- a receipt (签收) belongs to an intermediate unit; its note is readable by that unit's subtree (ancestor rows);
- a task event, a census check and a notification belong to the unit they concern.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type, utcnow
from hierarchy.province import province_code_column

KINDS = ("census", "questionnaire", "special_action")
CAMPAIGN_STATUSES = ("draft", "publishing", "open", "closed")
# pending = not started (the village has not opened it for writing yet).
TASK_STATUSES = ("pending", "draft", "submitted", "approved", "returned")
DONE_STATUSES = ("submitted", "approved")
OPEN_STATUSES = ("pending", "draft", "returned")
EVENT_KINDS = ("draft_saved", "submitted", "approved", "returned", "reminded", "extended", "reopened")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Campaign(Base):
    __tablename__ = "campaigns"
    __province_source__ = "issuer_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "issuer_code"
    __scope_ancestors_visible__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    title: Mapped[str] = mapped_column(String(200))
    directive: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    template: Mapped[str | None] = mapped_column(String(32))
    # Levels as hierarchy.codes.Level values: 1 province .. 5 village.
    target_level: Mapped[int] = mapped_column(SmallInteger, default=5)
    reviewer_level: Mapped[int] = mapped_column(SmallInteger, default=4)
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    questions: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    task_count: Mapped[int] = mapped_column(Integer, default=0)
    receipt_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status"),
        CheckConstraint("target_level BETWEEN 2 AND 5 AND reviewer_level BETWEEN 1 AND 5 "
                        "AND reviewer_level < target_level", name="levels"),
        CheckConstraint("due_on >= starts_on", name="dates"),
        Index("ix_campaigns_issuer_code_created_at", "issuer_code", "created_at"),
        Index("ix_campaigns_status", "status"),
    )


class CampaignAttachment(Base):
    __tablename__ = "campaign_attachments"
    __province_source__ = "issuer_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "issuer_code"
    __scope_ancestors_visible__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    issuer_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignReceipt(Base):
    """The directive as received by an intermediate unit: acknowledged (签收) or not, and a note for its subtree."""

    __tablename__ = "campaign_receipts"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"
    __scope_ancestors_visible__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    note_at: Mapped[datetime | None]
    # A county may move the deadline later for its own subtree; None = the campaign's.
    due_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("campaign_id", "region_code"),
        Index("ix_campaign_receipts_region_code", "region_code"),
    )


class Task(Base):
    """One target unit's copy of a campaign: its answers and where it stands."""

    __tablename__ = "tasks"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    # The ancestor at the campaign's reviewer level that approves or returns this task.
    reviewer_code: Mapped[str] = mapped_column(code_column_type())
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(Integer)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
        UniqueConstraint("campaign_id", "region_code"),
        Index("ix_tasks_region_code_status", "region_code", "status"),
    )


class TaskEvent(Base):
    """The task's timeline: who did what and when (the campaign's publication is its first step)."""

    __tablename__ = "task_events"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    actor_unit_code: Mapped[str | None] = mapped_column(code_column_type())
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),)


class CensusCheck(Base):
    """A child record confirmed during a census task (摸底排查), one row per child and task."""

    __tablename__ = "census_checks"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    checked_by_id: Mapped[int | None] = mapped_column(Integer)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """A message to a unit, e.g. a reminder (催办); shown on the receiving unit's home page until read."""

    __tablename__ = "notifications"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(16), default="reminder")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text, default="")
    sender_code: Mapped[str | None] = mapped_column(code_column_type())
    sender_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # The notification centre (tenant_app.notifications): one user of the unit, or the whole unit (NULL).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    link: Mapped[str] = mapped_column(String(300), default="", server_default="")

    __table_args__ = (Index("ix_notifications_region_code_created_at", "region_code", "created_at"),
                      Index("ix_notifications_region_code_read_at", "region_code", "read_at"))
