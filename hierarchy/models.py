"""Declarative base shared by every package, and the Unit model (the tree itself)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Index, MetaData, SmallInteger, String, false, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from hierarchy.codes import Level

# Stable constraint names so Alembic autogenerate and hand-written migrations agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def code_column_type(length: int = 12):
    """Division codes compare byte-wise ("C" collation on PostgreSQL) so subtree range scans are exact."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


class Unit(Base):
    """An administrative unit: province, city, county, township or village. Every unit is a tenant."""

    __tablename__ = "units"
    # Units are readable within the caller's subtree; the caller's ancestors are readable too
    # (directives come from them). See hierarchy.scope.
    __scope_column__ = "code"
    __scope_ancestors_visible__ = True

    @staticmethod
    def __scope_partner_criteria__():
        # A partner reads the units a unit scope of its own would (the village picker, its unit's name).
        from sqlalchemy import or_

        from hierarchy.scope import partner_subtree, scope_param

        return or_(partner_subtree(Unit.code), Unit.code.in_(scope_param("partner_ancestors")))

    code: Mapped[str] = mapped_column(code_column_type(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(code_column_type())
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())

    __table_args__ = (
        Index("ix_units_parent_code", "parent_code"),
        Index("ix_units_level_code", "level", "code"),
    )

    @property
    def level_name(self) -> str:
        return Level(self.level).name

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"
