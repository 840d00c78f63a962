"""The workforce roster: people registered by real name, their appointments to units, covers of vacant units,
the audit of full reads and roster imports.

A person is separate from any login account (an optional link to one `users` row). Every table is owned by a
unit (`region_code`): a person by the unit of their latest appointment (or the unit that registered them), an
appointment by the unit it fills (a village for a children's director, a township for a supervisor), a cover
by the vacant unit. The units above see the rows by the subtree rule; a sibling sees nothing. Later features
(training, assessment, roll-up indicators) build on `roster_people` and `roster_appointments`.
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
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type
from hierarchy.province import province_code_column
from tenant_app import clock
from tenant_app.versioned import Versioned
from tenant_app.workforce import enums as E


def _ck(column: str, values, nullable: bool = False) -> CheckConstraint:
    clause = f"{column} IN ({E.sql_in(values)})"
    if nullable:
        clause = f"{column} IS NULL OR {clause}"
    return CheckConstraint(clause, name=column)


class RosterPerson(Versioned, Base):
    """A children's director or supervisor by real name; the ID number is unique within a province."""

    __tablename__ = "roster_people"
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    province_code: Mapped[str] = mapped_column(code_column_type(2))
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(8))
    id_number: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(32), default="")
    qualifications: Mapped[str] = mapped_column(String(500), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    __table_args__ = (
        UniqueConstraint("province_code", "id_number", name="uq_roster_people_province_code_id_number"),
        _ck("sex", E.SEXES),
        Index("ix_roster_people_region_code_name", "region_code", "name"),
    )


class Appointment(Versioned, Base):
    """One person holding one post in one unit from `appointed_on`; `left_on` is the first day without them.
    A unit has at most one open appointment per post (a departure is recorded before a successor starts)."""

    __tablename__ = "roster_appointments"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id"))
    post: Mapped[str] = mapped_column(String(12))
    employment: Mapped[str] = mapped_column(String(12))
    other_post: Mapped[str] = mapped_column(String(64), default="")  # e.g. 村委委员
    appointed_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    leave_reason: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        _ck("post", E.POSTS),
        _ck("employment", E.EMPLOYMENTS),
        CheckConstraint("left_on IS NULL OR left_on >= appointed_on", name="dates"),
        Index("ix_roster_appointments_region_code_post_left_on", "region_code", "post", "left_on"),
        Index("ix_roster_appointments_person_id", "person_id"),
        Index("uq_roster_appointments_open_unit", "region_code", "post", unique=True,
              postgresql_where=text("left_on IS NULL"), sqlite_where=text("left_on IS NULL")),
        Index("uq_roster_appointments_open_person", "person_id", unique=True,
              postgresql_where=text("left_on IS NULL"), sqlite_where=text("left_on IS NULL")),
    )


class Cover(Versioned, Base):
    """Who covers a vacant unit meanwhile (代管): a person holding a post nearby, from `since` to `until`
    (included; open when NULL). The coverer's name and phone are kept on the row, so the vacant unit and the
    units above read them without reading the coverer's record."""

    __tablename__ = "roster_covers"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))  # the vacant unit
    post: Mapped[str] = mapped_column(String(12))
    person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id"))
    coverer_unit_code: Mapped[str] = mapped_column(code_column_type())
    coverer_name: Mapped[str] = mapped_column(String(64))
    coverer_phone: Mapped[str] = mapped_column(String(32), default="")
    kind: Mapped[str] = mapped_column(String(24))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        _ck("post", E.POSTS),
        _ck("kind", E.COVER_KINDS),
        CheckConstraint("until IS NULL OR until >= since", name="dates"),
        Index("ix_roster_covers_region_code_until", "region_code", "until"),
        Index("ix_roster_covers_person_id", "person_id"),
    )


class RosterRead(Base):
    """A full read of a person's record (ID number in clear): who, when, why; region_code is the person's."""

    __tablename__ = "roster_reads"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type())
    person_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(Integer)
    user_region_code: Mapped[str] = mapped_column(code_column_type())
    action: Mapped[str] = mapped_column(String(16), default="read")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        Index("ix_roster_reads_region_code_at", "region_code", "at"),
        Index("ix_roster_reads_person_id", "person_id"),
    )


class RosterImport(Base):
    """One uploaded roster workbook: its dry run (errors) and its application; region_code is the importer's."""

    __tablename__ = "roster_imports"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    user_id: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default="validated")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    valid_count: Mapped[int] = mapped_column(Integer, default=0)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        _ck("status", ("validated", "applied", "failed")),
        Index("ix_roster_imports_region_code_created_at", "region_code", "created_at"),
    )
