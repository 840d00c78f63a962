"""A home visit to a child (走访), and a province's visit intervals by risk level."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type, utcnow
from hierarchy.province import province_code_column
from tenant_app.children import enums as CE
from tenant_app.db import ShouhuSession

# Who the visitor met (multi): the child, the father, the mother, the entrusted guardian, someone else.
MET = {"child": "儿童本人", "father": "父亲", "mother": "母亲", "guardian": "受托监护人", "other": "其他"}
ASSESSMENTS = CE.ASSESSMENTS
RISK_LEVELS = CE.RISK_LEVELS
# Days between visits by risk level when the province has not set its own.
DEFAULT_INTERVALS = {"high": 30, "medium": 90, "low": 180}


def _in(column: str, values) -> str:
    return f"{column} IS NULL OR {column} IN ({CE.sql_in(values)})"


class Visit(Base):
    """One home visit; `region_code` is the child's village (it moves with the child on a transfer)."""

    __tablename__ = "visits"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    visited_on: Mapped[date] = mapped_column(Date)
    visitor_user_id: Mapped[int | None] = mapped_column(Integer)
    visitor_name: Mapped[str] = mapped_column(String(64), default="")
    met: Mapped[list] = mapped_column(JSON, default=list)
    findings: Mapped[str] = mapped_column(Text)
    guardianship_assessment: Mapped[str | None] = mapped_column(String(8))
    risk_level: Mapped[str | None] = mapped_column(String(8))
    follow_up: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("guardianship_assessment", ASSESSMENTS), name="guardianship_assessment"),
        CheckConstraint(_in("risk_level", RISK_LEVELS), name="risk_level"),
        Index("ix_visits_child_id_visited_on", "child_id", "visited_on"),
        Index("ix_visits_region_code_visited_on", "region_code", "visited_on"),
    )


class VisitPolicy(Base):
    """A province's visit intervals in days. Readable by the whole province (the row is an ancestor of
    every unit in it); written by the province only. No row means DEFAULT_INTERVALS."""

    __tablename__ = "visit_policies"
    __scope_column__ = "province_code"
    __scope_ancestors_visible__ = True

    province_code: Mapped[str] = mapped_column(code_column_type(2), primary_key=True)
    high_days: Mapped[int] = mapped_column(SmallInteger)
    medium_days: Mapped[int] = mapped_column(SmallInteger)
    low_days: Mapped[int] = mapped_column(SmallInteger)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("high_days BETWEEN 1 AND 730 AND medium_days BETWEEN 1 AND 730 "
                        "AND low_days BETWEEN 1 AND 730", name="days"),
    )

    def intervals(self) -> dict[str, int]:
        return {"high": self.high_days, "medium": self.medium_days, "low": self.low_days}


# --- visits move with the child ------------------------------------------------------------------------

def _move_visits_with_child(session, flush_context) -> None:
    """When a child's village changes (an accepted transfer), its visits follow in the same flush, under the
    same (narrow) scope the move runs with, so the receiving village keeps the visit history."""
    from sqlalchemy import inspect, update

    from tenant_app.children.models import Child

    for obj in list(session.dirty):
        if not isinstance(obj, Child):
            continue
        history = inspect(obj).attrs.region_code.history
        if history.added and history.deleted and history.added[0] != history.deleted[0]:
            session.connection().execute(
                update(Visit.__table__).where(Visit.__table__.c.child_id == obj.id)
                .values(region_code=history.added[0]))


def install_listeners(session_class) -> None:
    if getattr(session_class, "_shouhu_visits", False):
        return
    event.listen(session_class, "after_flush", _move_visits_with_child)
    session_class._shouhu_visits = True


install_listeners(ShouhuSession)
