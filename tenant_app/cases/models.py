"""Mandatory reports (强制报告), the protection cases they open, their timeline, full-read audit and the
province's time limits.

Every table is owned by the case's village (`region_code`): its township and county are prefixes of that code,
so the village, the township, the handling county and every unit above see the rows by the usual subtree rule
(and a sibling sees nothing). Who may read what beyond category, stage and clock is decided in
tenant_app.cases.access.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type
from hierarchy.province import province_code_column
from hierarchy.scope import partner_subtree, scope_param
from tenant_app import clock
from tenant_app.cases import enums as E


def _ck(column: str, values, nullable: bool = False) -> CheckConstraint:
    clause = f"{column} IN ({E.sql_in(values)})"
    if nullable:
        clause = f"{column} IS NULL OR {clause}"
    return CheckConstraint(clause, name=column)


# A partner reporter's scope (hierarchy.scope.Scope.partner) opens, within its unit's subtree, the rows of its own
# reports only: the report, its case (for the stage) and the "filed" entry filing writes; the database policies
# of migration 0019 say the same.

def _report_partner_criteria():
    return and_(partner_subtree(Report.region_code), Report.reporter_user_id == scope_param("partner_user"))


def _report_partner_match(report, scope, is_new) -> bool:
    return is_new and report.reporter_user_id == scope.partner_user_id \
        and report.reporter_unit_code == scope.partner_unit


def _case_partner_criteria():
    own_reports = select(Report.id).where(Report.reporter_user_id == scope_param("partner_user"))
    return and_(partner_subtree(Case.region_code), Case.report_id.in_(own_reports.scalar_subquery()))


def _case_partner_match(case, scope, is_new) -> bool:
    return is_new and case.stage == "reported"  # the report it opens is the partner's own (the database checks)


def _action_partner_criteria():
    return and_(partner_subtree(CaseAction.region_code), CaseAction.kind == E.FILED_ENTRY,
                CaseAction.by_user_id == scope_param("partner_user"))


def _action_partner_match(action, scope, is_new) -> bool:
    return is_new and action.kind == E.FILED_ENTRY and action.by_user_id == scope.partner_user_id


class Report(Base):
    """What a reporter said: category, where and when, the narrative, the children involved (by record, or an
    unknown child described) and the reporter (confidential: the accepting county only)."""

    __tablename__ = "reports"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"
    __scope_partner_criteria__ = staticmethod(_report_partner_criteria)
    __scope_partner_match__ = staticmethod(_report_partner_match)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))  # the case's village
    occurred_village_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    category: Mapped[str] = mapped_column(String(24))
    urgency: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime]
    narrative: Mapped[str] = mapped_column(Text)
    unknown_child_description: Mapped[str] = mapped_column(Text, default="")
    reporter_kind: Mapped[str] = mapped_column(String(16))
    reporter_name: Mapped[str] = mapped_column(String(64), default="")
    reporter_contact: Mapped[str] = mapped_column(String(64), default="")
    reporter_user_id: Mapped[int | None] = mapped_column(Integer)
    reporter_unit_code: Mapped[str] = mapped_column(code_column_type())
    filed_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        _ck("category", E.CATEGORIES),
        _ck("urgency", E.URGENCIES),
        _ck("reporter_kind", E.REPORTER_KINDS),
        Index("ix_reports_region_code_filed_at", "region_code", "filed_at"),
        Index("ix_reports_reporter_unit_code_filed_at", "reporter_unit_code", "filed_at"),
    )


class Case(Base):
    """A protection case, handled by the county of its village (`county_code`), with the township and the
    village taking part. `version` guards every change (a stale version is a 409)."""

    __tablename__ = "cases"
    __scope_column__ = "region_code"
    __scope_partner_criteria__ = staticmethod(_case_partner_criteria)
    __scope_partner_match__ = staticmethod(_case_partner_match)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))  # the village
    township_code: Mapped[str] = mapped_column(code_column_type(9))
    county_code: Mapped[str] = mapped_column(code_column_type(6))  # the handling unit
    province_code: Mapped[str] = mapped_column(code_column_type(2))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    # The report's filing account, kept with the case: a partner's access to its own cases is then read from the
    # row itself, without a look-up in `reports` (which a distributed deployment's policies cannot make).
    reporter_user_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(24))
    urgency: Mapped[str] = mapped_column(String(12))
    stage: Mapped[str] = mapped_column(String(16), default="reported")
    risk_level: Mapped[str | None] = mapped_column(String(8))
    guardianship_intervention: Mapped[bool] = mapped_column(Boolean, default=False)
    screen_out_reason: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_summary: Mapped[str] = mapped_column(String(2000), default="")
    # The clock: the current cycle starts at filing (or at a reopening); each step's moment.
    reported_at: Mapped[datetime]
    cycle_started_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    first_measure_at: Mapped[datetime | None]
    assessed_at: Mapped[datetime | None]
    help_plan_at: Mapped[datetime | None]
    # The CST day of the last follow-up visit (its midnight): the next one is due by the risk level's interval.
    last_follow_up_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Escalation of the current step once overdue (tenant_app.cases.escalation): 0 none, 1 the county and the
    # city told, 2 the province too. Written by the job only, outside `version` (not a change of the case).
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalation_step: Mapped[str | None] = mapped_column(String(16))
    escalated_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        _ck("category", E.CATEGORIES),
        _ck("urgency", E.URGENCIES),
        _ck("stage", E.STAGES),
        _ck("risk_level", E.RISK_LEVELS, nullable=True),
        _ck("outcome", E.OUTCOMES, nullable=True),
        Index("ix_cases_region_code_stage", "region_code", "stage"),
        Index("ix_cases_county_code_stage", "county_code", "stage"),
        Index("ix_cases_province_code_stage", "province_code", "stage"),
        # The target of case_actions' (case, partner) key.
        UniqueConstraint("id", "reporter_user_id", name="uq_cases_id_reporter_user_id"),
    )

    @property
    def is_open(self) -> bool:
        return self.stage in E.OPEN_STAGES


class CaseChild(Base):
    """A child record involved in a case."""

    __tablename__ = "case_children"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"))
    region_code: Mapped[str] = mapped_column(code_column_type())

    __table_args__ = (
        UniqueConstraint("case_id", "child_id", name="uq_case_children_case_id_child_id"),
        Index("ix_case_children_child_id", "child_id"),
    )


class CaseAction(Base):
    """One entry of a case's timeline: a typed action (`data` holds its fields) or a step of the workflow
    (`stage_change`, `filed`), with who and when."""

    __tablename__ = "case_actions"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"
    __scope_partner_criteria__ = staticmethod(_action_partner_criteria)
    __scope_partner_match__ = staticmethod(_action_partner_match)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(code_column_type())
    kind: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(16))  # the case's stage when it was recorded
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(Integer)
    by_unit_code: Mapped[str] = mapped_column(code_column_type())
    at: Mapped[datetime] = mapped_column(default=clock.now)
    # A partner's own entry (filing): its account, which the foreign key holds equal to the case's reporter, so
    # that a partner can write entries on its own cases only (migration 0029).
    partner_user_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_case_actions_case_id_at", "case_id", "at"),
                      Index("ix_case_actions_region_code_kind", "region_code", "kind"),
                      ForeignKeyConstraint(["case_id", "partner_user_id"], ["cases.id", "cases.reporter_user_id"],
                                           name="fk_case_actions_case_id_cases_reporter"))


class CaseRead(Base):
    """A full read of a case (narrative, assessment details, and for the county the reporter): who, when."""

    __tablename__ = "case_reads"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type())
    case_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(Integer)
    user_region_code: Mapped[str] = mapped_column(code_column_type())
    with_reporter: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (Index("ix_case_reads_case_id_at", "case_id", "at"),
                      Index("ix_case_reads_region_code_at", "region_code", "at"))


class CasePolicy(Base):
    """A province's time limits (hours for acceptance and the first emergency measure, CST days for the
    assessment and the help plan), with per-category overrides {category: {step: value}}. Readable by the
    whole province (the row is an ancestor of every unit in it); written by the province. No row: defaults."""

    __tablename__ = "case_policies"
    __scope_column__ = "province_code"
    __scope_ancestors_visible__ = True

    province_code: Mapped[str] = mapped_column(code_column_type(2), primary_key=True)
    accept_emergency_hours: Mapped[int] = mapped_column(SmallInteger)
    accept_hours: Mapped[int] = mapped_column(SmallInteger)
    first_measure_hours: Mapped[int] = mapped_column(SmallInteger)
    assessment_days: Mapped[int] = mapped_column(SmallInteger)
    help_plan_days: Mapped[int] = mapped_column(SmallInteger)
    follow_up_high_days: Mapped[int] = mapped_column(SmallInteger, server_default="7")
    follow_up_medium_days: Mapped[int] = mapped_column(SmallInteger, server_default="15")
    follow_up_low_days: Mapped[int] = mapped_column(SmallInteger, server_default="30")
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        CheckConstraint("accept_emergency_hours BETWEEN 1 AND 720 AND accept_hours BETWEEN 1 AND 720 "
                        "AND first_measure_hours BETWEEN 1 AND 720 AND assessment_days BETWEEN 1 AND 90 "
                        "AND help_plan_days BETWEEN 1 AND 90", name="limits"),
        CheckConstraint("follow_up_high_days BETWEEN 1 AND 180 AND follow_up_medium_days BETWEEN 1 AND 180 "
                        "AND follow_up_low_days BETWEEN 1 AND 180", name="follow_up"),
    )
