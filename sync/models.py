"""The transactional outbox: one row per unit whose source rows changed, written in the changing transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type, utcnow
from hierarchy.province import province_code_column


class OutboxEvent(Base):
    """`region_code` is the unit whose figures must be recomputed (a village for child, visit and task changes;
    the user's unit for staff changes). Drained by the roll-up job, which deletes the rows it handled in the same
    transaction as the figures it writes, so a crash or a retry loses nothing and counts nothing twice."""

    __tablename__ = "sync_outbox"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"
    # Whether roll-ups are pending above a unit tells it its stored campaign figures are behind (migration 0010).
    __scope_ancestors_visible__ = True

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type())
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_sync_outbox_region_code", "region_code"),)
