"""`province_code` on every tenant table: the first two digits of the row's own division code, the distribution key
of a Citus deployment (deploy/citus/SCHEMA.md).

A model declares the column with `province_code_column()` and names its code column in `__province_source__`. The
ORM fills the province when it inserts a row and when the code column changes (the mapper events below). Set-based
statements name it too; a row inserted by a statement that does not gets it from a trigger (migration 0028), and a
CHECK constraint holds it equal to its code column on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, code_column_type

# table: the column its province is read from (migration 0028 added province_code to each).
PROVINCE_SOURCES: dict[str, str] = {
    **{table: "region_code" for table in (
        "api_tokens", "audit_events", "campaign_receipts", "case_actions", "case_children", "case_reads",
        "census_checks", "child_changes", "child_imports", "child_name_keys", "child_transfers", "notifications",
        "reports", "roll_match_runs", "roll_matches", "roll_rows", "roll_staged_rows", "roll_uploads",
        "roster_appointments", "roster_covers", "roster_imports", "roster_reads", "security_alerts", "sync_outbox",
        "task_events", "tasks", "training_attendance", "training_courses", "users", "visits", "worklist_items")},
    "campaigns": "issuer_code",
    "campaign_attachments": "issuer_code",
    "unit_stats": "unit_code",
    "unit_stats_monthly": "unit_code",
    "unit_campaign_stats": "unit_code",
}


def province_code_column() -> Mapped[str]:
    return mapped_column(code_column_type(2))


def province_of(code: str | None) -> str | None:
    return code[:2] if code else None


def _source(target) -> str | None:
    return getattr(type(target), "__province_source__", None)


@event.listens_for(Base, "before_insert", propagate=True)
def _province_on_insert(mapper, connection, target) -> None:
    source = _source(target)
    if source is not None:
        target.province_code = province_of(getattr(target, source))


@event.listens_for(Base, "before_update", propagate=True)
def _province_on_update(mapper, connection, target) -> None:
    source = _source(target)
    if source is not None and inspect(target).attrs[source].history.has_changes():
        target.province_code = province_of(getattr(target, source))
