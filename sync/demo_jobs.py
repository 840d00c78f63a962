"""Small jobs used by operators and tests to check that a worker runs with the scope it was given."""

from __future__ import annotations

from sqlalchemy import func, select

from hierarchy.models import Unit
from hierarchy.scope import current_scope


def count_visible_units() -> dict:
    """Count the units the job's scope can see (both locks apply)."""
    from tenant_app.db import db

    with db.session_scope(commit=False) as session:
        total = session.scalar(select(func.count()).select_from(Unit))
    scope = current_scope()
    return {"scope": scope.db_value, "units": total}
