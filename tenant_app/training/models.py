"""Training of the roster's people: courses run by a unit, and each person's attendance of a course.

A course is owned by its organiser unit (`region_code`: a province, city, county or township). An attendance
row is owned by the person's unit at the time they were added (`region_code`), so the units above the person
see it and a sibling sees nothing, whoever organised the course. The row carries the course's end date and title, so
a unit that cannot read a course run above it still counts its people's training of the year and lists their
certificates; the course's
hours are the default of the hours credited. The certificate (证书编号) is kept on the attendance row.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type
from hierarchy.province import province_code_column
from tenant_app.training import enums as E
from tenant_app.versioned import Versioned


def _ck(column: str, values) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({E.sql_in(values)})", name=column)


class Course(Versioned, Base):
    """A training course (培训班) run by a unit for people of its subtree."""

    __tablename__ = "training_courses"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(12))
    topic: Mapped[str] = mapped_column(String(24))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (
        _ck("level", E.LEVELS),
        _ck("topic", E.TOPICS),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint(f"hours > 0 AND hours <= {E.MAX_HOURS}", name="hours"),
        Index("ix_training_courses_region_code_ends_on", "region_code", "ends_on"),
    )


class Attendance(Versioned, Base):
    """One person on one course: attended or not, hours credited, passed, certificate number."""

    __tablename__ = "training_attendance"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id"))
    course_ends_on: Mapped[date] = mapped_column(Date)
    course_title: Mapped[str] = mapped_column(String(200), default="")
    attended: Mapped[bool] = mapped_column(Boolean, default=True)
    hours_credited: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    certificate_no: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (
        UniqueConstraint("course_id", "person_id", name="uq_training_attendance_course_id_person_id"),
        CheckConstraint(f"hours_credited >= 0 AND hours_credited <= {E.MAX_HOURS}", name="hours"),
        CheckConstraint("attended OR (hours_credited = 0 AND NOT passed)", name="absent"),
        Index("ix_training_attendance_person_id_course_ends_on", "person_id", "course_ends_on"),
        Index("ix_training_attendance_region_code", "region_code"),
    )
