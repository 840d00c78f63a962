"""Stored figures: the current roll-up per unit, the monthly snapshots, and campaign progress per unit.

One integer column per indicator (sync.indicators.KEYS). Rows are written by the roll-up job only (the
all-tenants scope); a unit reads its own subtree's rows and never an ancestor's or a sibling's.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type
from hierarchy.province import province_code_column
from sync.indicators import CAMPAIGN_FIELDS, KEYS


def _counts(keys) -> dict:
    return {key: mapped_column(Integer, nullable=False, default=0, server_default="0") for key in keys}


class UnitStats(Base):
    """A unit's current figures over its subtree, as of `as_of` (the roll-up that wrote them)."""

    __tablename__ = "unit_stats"
    __province_source__ = "unit_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    as_of: Mapped[datetime]

    locals().update(_counts(KEYS))

    __table_args__ = (Index("ix_unit_stats_level_unit_code", "level", "unit_code"),)

    def figures(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in KEYS}


class UnitStatsMonthly(Base):
    """The last figures of each month (month = its first day), for trends."""

    __tablename__ = "unit_stats_monthly"
    __province_source__ = "unit_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    as_of: Mapped[datetime]

    locals().update(_counts(KEYS))

    def figures(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in KEYS}


class UnitCampaignStats(Base):
    """Progress of one open campaign's tasks within a unit's subtree (only units with tasks have a row)."""

    __tablename__ = "unit_campaign_stats"
    __province_source__ = "unit_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    as_of: Mapped[datetime]

    locals().update(_counts(CAMPAIGN_FIELDS))

    __table_args__ = (Index("ix_unit_campaign_stats_campaign_id", "campaign_id"),
                      Index("ix_unit_campaign_stats_level_unit_code", "level", "unit_code"))

    def figures(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in CAMPAIGN_FIELDS}
