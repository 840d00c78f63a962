"""Rolls of partner departments (school rolls, household registers, assistance and disability rosters), their
dated versions, the match runs against the child records and the matches.

Uploads, rows and runs belong to the department's unit (`region_code`, a county, city or province); a match
belongs to the matched child's village (`region_code`), so the county that confirms it sees it, and carries the
department (`dept_unit`, `dept_kind`) that its roll came from. A department's account reads its own department's
rows only (`__scope_partner_criteria__`): the partner scope with its unit and its own account's kind.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    and_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type
from hierarchy.province import province_code_column
from hierarchy.scope import scope_param
from tenant_app import clock
from tenant_app.links import enums as E


def _own_department(model):
    """Loader criteria for a department's account: rows of its unit and its kind (read from its own row, which
    the partner scope opens)."""
    from tenant_app.auth.models import User

    users = User.__table__
    kind = select(users.c.org_kind).where(users.c.id == scope_param("partner_user"),
                                          users.c.role == "department").scalar_subquery()
    return and_(model.dept_unit == scope_param("partner_lo"), model.dept_kind == kind)


def _department_match(obj, scope, is_new) -> bool:
    """A department's writes (its uploads and runs): at its own unit; the database checks its kind too."""
    return obj.dept_unit == scope.partner_unit and obj.region_code == obj.dept_unit


def _ck(table: str, column: str, values) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({E.sql_in(values)})", name=f"ck_{table}_{column}")


class RollUpload(Base):
    """One uploaded file: its dry run (staged rows, errors), then, confirmed, a dated version of the
    department's roll of that kind; the newest confirmed version is current."""

    __tablename__ = "roll_uploads"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    # A dry run's valid rows wait in roll_staged_rows until it is confirmed or purged.
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    dept_unit: Mapped[str] = mapped_column(code_column_type())
    dept_kind: Mapped[str] = mapped_column(String(20))
    roll_kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="checked")
    version: Mapped[int | None] = mapped_column(Integer)  # set when confirmed: 1, 2, ...
    base_version: Mapped[int] = mapped_column(Integer, default=0)  # the current version at the dry run
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str] = mapped_column(String(200), default="")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    confirmed_at: Mapped[datetime | None] = mapped_column()

    __scope_partner_criteria__ = classmethod(lambda cls: _own_department(cls))
    __scope_partner_match__ = staticmethod(_department_match)
    __table_args__ = (
        _ck("roll_uploads", "status", E.UPLOAD_STATUSES),
        _ck("roll_uploads", "roll_kind", E.ROLL_KINDS),
        Index("ix_roll_uploads_dept", "dept_unit", "dept_kind", "roll_kind", "version"),
        Index("ix_roll_uploads_status_created_at", "status", "created_at"),
    )


class RollRow(Base):
    """A row of a confirmed version, as uploaded, with the keys matching uses (`id_number` decoded from a
    student number when it carries one, `name_pinyin` computed at upload)."""

    __tablename__ = "roll_rows"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    dept_unit: Mapped[str] = mapped_column(code_column_type())
    dept_kind: Mapped[str] = mapped_column(String(20))
    upload_id: Mapped[int] = mapped_column(Integer, ForeignKey("roll_uploads.id"))
    line: Mapped[int] = mapped_column(Integer)
    student_no: Mapped[str] = mapped_column(String(40), default="")
    id_number: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(64))
    name_pinyin: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_swapped: Mapped[date | None] = mapped_column(Date)  # month and day exchanged, when that is a date
    area_code: Mapped[str] = mapped_column(code_column_type())  # where to look: an address's county, or the unit
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    __scope_partner_criteria__ = classmethod(lambda cls: _own_department(cls))
    __table_args__ = (Index("ix_roll_rows_upload_id_id", "upload_id", "id"),)


class RollStagedRow(Base):
    """A checked row of a dry run, between the dry run and its confirmation (migration 0027: an unlogged
    table, written with COPY and moved into roll_rows with one INSERT ... SELECT)."""

    __tablename__ = "roll_staged_rows"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type())  # the department's unit (no foreign key)
    dept_unit: Mapped[str] = mapped_column(code_column_type())
    dept_kind: Mapped[str] = mapped_column(String(20))
    upload_id: Mapped[int] = mapped_column(Integer)
    line: Mapped[int] = mapped_column(Integer)
    student_no: Mapped[str] = mapped_column(String(40), default="")
    id_number: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(64))
    name_pinyin: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_swapped: Mapped[date | None] = mapped_column(Date)
    area_code: Mapped[str] = mapped_column(code_column_type())
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    __scope_partner_criteria__ = classmethod(lambda cls: _own_department(cls))
    __scope_partner_match__ = staticmethod(_department_match)
    __table_args__ = (Index("ix_roll_staged_rows_upload_id", "upload_id"),)


class MatchRun(Base):
    """Matching one confirmed version against the child records: a job, with its progress."""

    __tablename__ = "roll_match_runs"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    dept_unit: Mapped[str] = mapped_column(code_column_type())
    dept_kind: Mapped[str] = mapped_column(String(20))
    upload_id: Mapped[int] = mapped_column(Integer, ForeignKey("roll_uploads.id"))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    grey: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column()

    __scope_partner_criteria__ = classmethod(lambda cls: _own_department(cls))
    __scope_partner_match__ = staticmethod(_department_match)
    __table_args__ = (_ck("roll_match_runs", "status", E.RUN_STATUSES),
                      Index("ix_roll_match_runs_upload_id", "upload_id"))


class RollMatch(Base):
    """A roll row matched to a child record, with its score and method; grey ones wait for a decision."""

    __tablename__ = "roll_matches"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type())  # the child's village
    dept_unit: Mapped[str] = mapped_column(code_column_type())
    dept_kind: Mapped[str] = mapped_column(String(20))
    # No foreign keys (migration 0027): the match job writes these from joins of the rows they name.
    upload_id: Mapped[int] = mapped_column(Integer)
    row_id: Mapped[int] = mapped_column(Integer)
    child_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(SmallInteger)
    method: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    # The roll's side, for the reviewing county (which does not see a city's or province's roll rows).
    roll_name: Mapped[str] = mapped_column(String(64))
    roll_sex: Mapped[str | None] = mapped_column(String(8))
    roll_birth_date: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __scope_partner_criteria__ = classmethod(lambda cls: _own_department(cls))
    __table_args__ = (
        _ck("roll_matches", "status", E.MATCH_STATUSES),
        _ck("roll_matches", "method", E.METHODS),
        Index("ix_roll_matches_upload_id_row_id", "upload_id", "row_id"),
        Index("ix_roll_matches_region_code_status", "region_code", "status"),
    )


class ChildNameKey(Base):
    """The pinyin key of a child's name (homophones share it), kept by the match job for the children it looks
    at, so that fuzzy matching runs in SQL."""

    __tablename__ = "child_name_keys"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    child_id: Mapped[int] = mapped_column(Integer, ForeignKey("children.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    name: Mapped[str] = mapped_column(String(64))
    name_pinyin: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_child_name_keys_region_code", "region_code"),)


class WorklistItem(Base):
    """One discrepancy to verify in a village: a record (`child_id`) or a roll row not on the records (`row_id`,
    its person by ID number), on one of the worklists. Open items are recomputed from the rolls and records;
    an item put into a verification campaign (`in_task`) stays until its village answers it (`answered`).
    `name`, `sex`, `birth_date`, `id_number` are the source's: the roll row's, or the record's when it was listed."""

    __tablename__ = "worklist_items"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))  # the village
    list_kind: Mapped[str] = mapped_column(String(12))
    subject_key: Mapped[str] = mapped_column(String(24))  # "c<child id>" or "r<ID number>"
    child_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("children.id", ondelete="CASCADE"))
    row_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_number: Mapped[str | None] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    campaign_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("campaigns.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("tasks.id", ondelete="SET NULL"))
    answer: Mapped[str | None] = mapped_column(String(12))
    answer_note: Mapped[str] = mapped_column(String(200), default="")
    answered_by_id: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_on: Mapped[date | None] = mapped_column(Date)  # the CST day, for the outcome figures
    result_child_id: Mapped[int | None] = mapped_column(Integer)  # the record an "added" answer created
    computed_at: Mapped[datetime] = mapped_column(default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        _ck("worklist_items", "list_kind", E.LIST_KINDS),
        _ck("worklist_items", "status", E.ITEM_STATUSES),
        CheckConstraint(f"answer IS NULL OR answer IN ({E.sql_in(E.ANSWERS)})", name="ck_worklist_items_answer"),
        Index("ix_worklist_items_region_code_list_kind_status", "region_code", "list_kind", "status", "id"),
        Index("ix_worklist_items_task_id", "task_id"),
        Index("ix_worklist_items_region_code_answered_on", "region_code", "answered_on"),
    )
