"""The scoring scheme of the assessment (考核): the weights a province sets for a year.

A province's row is readable by every unit of the province (it is their ancestor) and written by the province
only, like the visit intervals and the case time limits. No row for a year means the default scheme
(tenant_app.assessment.scheme.DEFAULT_WEIGHTS).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, SmallInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type
from tenant_app import clock


class AssessmentScheme(Base):
    """Weights (0-100, summing to 100) per indicator key, for one province and one year."""

    __tablename__ = "assessment_schemes"
    __scope_column__ = "province_code"
    __scope_ancestors_visible__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[str] = mapped_column(code_column_type(2), ForeignKey("units.code"))
    year: Mapped[int] = mapped_column(SmallInteger)
    weights: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (UniqueConstraint("province_code", "year", name="uq_assessment_schemes_province_code_year"),)
