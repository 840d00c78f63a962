"""Who may do what with child records, and the narrow scopes some rules need."""

from __future__ import annotations

import contextlib

from hierarchy.codes import Level, level_of
from hierarchy.scope import Scope, apply_db_scope, current_scope, scoped
from tenant_app.errors import Forbidden
from tenant_app.i18n import _l

EDIT_LEVELS = (Level.village, Level.township, Level.county)


def user_level(actor) -> Level:
    return level_of(actor.region_code)


def can_create(actor) -> bool:
    """Village staff (children's directors) create records in their own village."""
    return actor.role == "staff" and user_level(actor) == Level.village


def can_edit(actor) -> bool:
    """Village staff edit; township and county staff may correct. Viewers and admins read only."""
    return actor.role == "staff" and user_level(actor) in EDIT_LEVELS


def require_create(actor) -> None:
    if not can_create(actor):
        raise Forbidden(_l("仅村级工作人员可新建儿童档案"))


def require_edit(actor) -> None:
    if not can_edit(actor):
        raise Forbidden(_l("无权修改儿童档案"))


def require_admin(actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_l("需要管理员权限"))


def common_ancestor(a: str, b: str) -> str | None:
    for length in (9, 6, 4, 2):
        if a[:length] == b[:length]:
            return a[:length]
    return None


def resync(session) -> None:
    """Hand the current scope back to the database after a narrow lookup under another scope."""
    if session.in_transaction():
        scope = current_scope()
        apply_db_scope(session.connection(), scope)
        session.info["db_scope"] = scope


@contextlib.contextmanager
def narrow_scope(session, unit_code: str):
    """Run a narrowly-written lookup or move under `unit_code`'s scope, then restore the caller's."""
    try:
        with scoped(Scope.unit(unit_code)):
            yield
    finally:
        resync(session)
