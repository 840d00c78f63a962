"""The child record (一人一档), its history, transfers between villages, and the read audit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type, utcnow
from hierarchy.province import province_code_column
from hierarchy.scope import scope_param
from tenant_app.children import enums as E


def _ck(column: str, values, name: str | None = None, nullable: bool = True) -> CheckConstraint:
    clause = f"{column} IN ({E.sql_in(values)})"
    if nullable:
        clause = f"{column} IS NULL OR {clause}"
    return CheckConstraint(clause, name=name or column)


class Child(Base):
    """One child's file, owned by a village (`region_code` is the village code)."""

    __tablename__ = "children"
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    province_code: Mapped[str] = mapped_column(code_column_type(2))
    # identity
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(8))
    ethnicity: Mapped[str] = mapped_column(String(32), default="汉族")
    birth_date: Mapped[date] = mapped_column(Date)
    id_number: Mapped[str | None] = mapped_column(String(18))
    hukou_registered: Mapped[bool] = mapped_column(Boolean, default=True)
    hukou_rural: Mapped[bool] = mapped_column(Boolean, default=True)
    hukou_place: Mapped[str] = mapped_column(String(200), default="")
    current_address: Mapped[str] = mapped_column(String(200), default="")
    boards_at_school: Mapped[bool] = mapped_column(Boolean, default=False)
    # health
    health_status: Mapped[str] = mapped_column(String(16), default="healthy")
    disability_type: Mapped[str | None] = mapped_column(String(32))
    disability_grade: Mapped[int | None] = mapped_column(SmallInteger)
    # schooling
    schooling: Mapped[str | None] = mapped_column(String(16))
    school_name: Mapped[str] = mapped_column(String(100), default="")
    # parents
    father_name: Mapped[str] = mapped_column(String(64), default="")
    father_birth_date: Mapped[date | None] = mapped_column(Date)
    father_id_number: Mapped[str | None] = mapped_column(String(18))
    father_situation: Mapped[str] = mapped_column(String(16), default="home")
    father_work_province: Mapped[str] = mapped_column(String(32), default="")
    father_work_city: Mapped[str] = mapped_column(String(32), default="")
    father_phone: Mapped[str] = mapped_column(String(32), default="")
    mother_name: Mapped[str] = mapped_column(String(64), default="")
    mother_birth_date: Mapped[date | None] = mapped_column(Date)
    mother_id_number: Mapped[str | None] = mapped_column(String(18))
    mother_situation: Mapped[str] = mapped_column(String(16), default="home")
    mother_work_province: Mapped[str] = mapped_column(String(32), default="")
    mother_work_city: Mapped[str] = mapped_column(String(32), default="")
    mother_phone: Mapped[str] = mapped_column(String(32), default="")
    # entrusted guardian
    guardian_name: Mapped[str] = mapped_column(String(64), default="")
    guardian_phone: Mapped[str] = mapped_column(String(32), default="")
    guardian_id_number: Mapped[str | None] = mapped_column(String(18))
    guardian_relationship: Mapped[str] = mapped_column(String(32), default="")
    guardian_address: Mapped[str] = mapped_column(String(200), default="")
    guardianship_type: Mapped[str | None] = mapped_column(String(24))
    guardianship_assessment: Mapped[str | None] = mapped_column(String(8))
    income_sources: Mapped[list] = mapped_column(JSON, default=list)
    assistance: Mapped[list] = mapped_column(JSON, default=list)
    # categories and risk
    is_left_behind: Mapped[bool] = mapped_column(Boolean, default=False)
    is_in_difficulty: Mapped[bool] = mapped_column(Boolean, default=False)
    difficulty_subcategory: Mapped[str | None] = mapped_column(String(24))
    is_de_facto_unsupported: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_level: Mapped[str] = mapped_column(String(8), default="low")
    unattended: Mapped[bool] = mapped_column(Boolean, default=False)  # derived, never entered
    # status
    status: Mapped[str] = mapped_column(String(8), default="active")
    exit_reason: Mapped[str | None] = mapped_column(String(24))
    exited_at: Mapped[date | None] = mapped_column(Date)
    # form bookkeeping
    reviewer: Mapped[str] = mapped_column(String(64), default="")
    form_filler: Mapped[str] = mapped_column(String(64), default="")
    report_date: Mapped[date | None] = mapped_column(Date)
    # The day the entrusted guardianship confirmation (委托监护责任确认书) was signed (tenant_app.printing).
    guardianship_confirmed_on: Mapped[date | None] = mapped_column(Date)
    # concurrency and provenance
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("province_code", "id_number", name="uq_children_province_code_id_number"),
        _ck("sex", E.SEXES, nullable=False),
        _ck("health_status", E.HEALTH, nullable=False),
        _ck("schooling", E.SCHOOLING),
        _ck("father_situation", E.PARENT_SITUATIONS, nullable=False),
        _ck("mother_situation", E.PARENT_SITUATIONS, nullable=False),
        _ck("guardianship_type", E.GUARDIANSHIP_TYPES),
        _ck("guardianship_assessment", E.ASSESSMENTS),
        _ck("difficulty_subcategory", E.DIFFICULTY_SUBCATEGORIES),
        _ck("risk_level", E.RISK_LEVELS, nullable=False),
        _ck("status", E.STATUSES, nullable=False),
        _ck("exit_reason", E.EXIT_REASONS),
        CheckConstraint("disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4", name="disability_grade"),
        Index("ix_children_region_code_status", "region_code", "status"),
        Index("ix_children_region_code_risk_level", "region_code", "risk_level"),
        Index("ix_children_region_code_unattended", "region_code", "unattended"),
        Index("ix_children_region_code_name", "region_code", "name"),
        # Matching rolls by birth date within an area (tenant_app.links.matching, migration 0024).
        Index("ix_children_birth_date_region_code", "birth_date", "region_code"),
        # The assessment's pass over a subtree's children (migration 0025): an index-only scan.
        Index("ix_children_region_code_assessment", "region_code",
              postgresql_include=["status", "unattended", "risk_level", "created_at", "id"]),
    )

    @property
    def categories(self) -> list[str]:
        flags = (("left_behind", self.is_left_behind), ("in_difficulty", self.is_in_difficulty),
                 ("de_facto_unsupported", self.is_de_facto_unsupported))
        return [name for name, on in flags if on]


class ChildChange(Base):
    """One version of a child record: who changed which fields (old, new), and the full snapshot."""

    __tablename__ = "child_changes"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(code_column_type())
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # create / update / transfer
    changed_by_id: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("child_id", "version", name="uq_child_changes_child_id_version"),
        Index("ix_child_changes_region_code", "region_code"),
    )


def _transfer_to_criteria(shape):
    """The receiving village (and the units above it) see the request too."""
    if not shape.unit:
        return None
    return and_(ChildTransfer.to_village >= scope_param("lo"), ChildTransfer.to_village < scope_param("hi"))


def _transfer_to_match(transfer, scope) -> bool:
    return scope.covers(transfer.to_village)


class ChildTransfer(Base):
    """A move to another village: requested by the sending village, accepted by the receiving one."""

    __tablename__ = "child_transfers"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"  # the sending village
    __scope_auth_criteria__ = staticmethod(_transfer_to_criteria)
    __scope_auth_match__ = staticmethod(_transfer_to_match)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(code_column_type())
    to_village: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    # What the receiver may know before accepting: the name and the masked ID number.
    child_name: Mapped[str] = mapped_column(String(64))
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(12), default="requested")
    reason: Mapped[str] = mapped_column(String(200), default="")
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None]

    __table_args__ = (
        _ck("status", E.TRANSFER_STATUSES, nullable=False),
        Index("ix_child_transfers_region_code_status", "region_code", "status"),
        Index("ix_child_transfers_to_village_status", "to_village", "status"),
        Index("ix_child_transfers_child_id", "child_id"),
    )


class AuditEvent(Base):
    """A full read of a child record (user, child, time, purpose); region_code is the child's village.

    Also the hits of the duplicate-ID check on a record outside the caller's subtree (action
    "duplicate_probe"): the check tells whether a number is registered, so each such answer is on record.
    """

    __tablename__ = "audit_events"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type())
    user_id: Mapped[int] = mapped_column(Integer)
    user_region_code: Mapped[str] = mapped_column(code_column_type())
    child_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24), default="read")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_audit_events_region_code_at", "region_code", "at"),
        Index("ix_audit_events_child_id", "child_id"),
        Index("ix_audit_events_user_id_at", "user_id", "at"),  # one user's recent duplicate probes
    )


class SecurityAlert(Base):
    """Something the province's administrators should look at, e.g. one user finding many ID numbers
    registered outside their subtree (someone testing numbers). region_code is the province."""

    __tablename__ = "security_alerts"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(Integer)
    user_region_code: Mapped[str] = mapped_column(code_column_type())
    count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_security_alerts_region_code_at", "region_code", "at"),)
