"""The application's clock: UTC now and today's date in China Standard Time.

Deadlines are dates in China Standard Time (a task is overdue once its due date has ended there). Tests and
benchmarks move the clock with `frozen(...)`; it is process-wide (not per thread) so that a live server in
another thread sees the same time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CST = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def today_cst() -> date:
    return now().astimezone(CST).date()


def cst_day(moment: datetime) -> date:
    """The CST calendar date of a moment (a naive one is UTC, as SQLite returns stored timestamps)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).date()


def cst_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as people read it: China Standard Time (a naive one is UTC); empty for None."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).strftime(fmt)


def end_of_day_cst(day: date) -> datetime:
    """The first instant after `day` ends in China Standard Time, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CST).astimezone(UTC)


def set_now(at: datetime | None) -> None:
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime")
    _frozen = at.astimezone(UTC) if at is not None else None


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    previous = _frozen
    set_now(at)
    try:
        yield now()
    finally:
        set_now(previous)
