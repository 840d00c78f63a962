"""What a unit's successor or coverer takes over: the unit's open tasks, due visits and open cases. They belong to
the unit (its `region_code`), never to a person, so a departure moves nothing; this gathers them for the
roster's unit page."""

from __future__ import annotations

from sqlalchemy import func, select

from tenant_app.campaigns.models import OPEN_STATUSES, Task
from tenant_app.cases.enums import OPEN_STAGES
from tenant_app.cases.models import Case
from tenant_app.visits import services as visits


def open_work(session, actor, code: str) -> dict:
    """Counts of the unit's own open tasks, of the visits due (overdue and due soon) in its subtree, and of the
    open cases of its subtree."""
    tasks = session.scalar(select(func.count()).select_from(Task).where(
        Task.region_code == code, Task.status.in_(OPEN_STATUSES))) or 0
    cases = session.scalar(select(func.count()).select_from(Case).where(
        Case.region_code >= code, Case.region_code < code + ":", Case.stage.in_(OPEN_STAGES))) or 0
    _, overdue = visits.due_visits(session, actor, unit=code, status="overdue", per_page=1)
    _, due_soon = visits.due_visits(session, actor, unit=code, status="due_soon", per_page=1)
    return {"open_tasks": tasks, "overdue_visits": overdue, "due_soon_visits": due_soon, "open_cases": cases}
