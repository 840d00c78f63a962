"""Units for the tree picker (pages, session cookie): the caller's subtree, one level per request.

`purpose=transfer` serves a village's staff choosing the receiving village of a transfer: the villages of the
caller's own province, read under the province's scope like the transfer itself (division codes and names,
which are public, and nothing else).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import func, select

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit
from tenant_app.children.access import narrow_scope
from tenant_app.db import db
from tenant_app.errors import NotFound
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l
from tenant_app.security import current_actor

bp = Blueprint("unit_picker", __name__)

MAX_CHILDREN = 1000  # a township has a few dozen villages; the largest units a few hundred children


@bp.before_request
def _login_first():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _items(session, parent: str) -> list[dict]:
    rows = session.execute(select(Unit.code, Unit.name, Unit.level).where(
        Unit.parent_code == parent, Unit.retired.is_(False)).order_by(Unit.code).limit(MAX_CHILDREN)).all()
    below = dict(session.execute(select(Unit.parent_code, func.count()).where(
        Unit.parent_code.in_([r.code for r in rows]), Unit.retired.is_(False)).group_by(Unit.parent_code)).all())
    return [{"code": r.code, "name": r.name, "level": r.level, "has_children": bool(below.get(r.code))}
            for r in rows]


@bp.route("/picker/units")
def units():
    """Without `parent`: the picker's root (the caller's unit; for a transfer, the caller's county).
    With `parent`: its active children, each with whether it has children of its own."""
    actor = current_actor()
    session = db.session
    transfer = request.args.get("purpose") == "transfer" and level_of(actor.region_code) == Level.village
    root_code = actor.region_code[:6] if transfer else actor.region_code
    bound = actor.region_code[:2] if transfer else actor.region_code
    parent = (request.args.get("parent") or "").strip()
    if parent and (not is_valid_code(parent) or not parent.startswith(bound)):
        raise NotFound(_l("单位不存在"))

    def load():
        if not parent:
            unit = session.get(Unit, root_code)
            return [{"code": unit.code, "name": unit.name, "level": unit.level,
                     "has_children": unit.level < int(Level.village)}] if unit else []
        return _items(session, parent)

    if transfer:
        with narrow_scope(session, bound):
            items = load()
    else:
        items = load()
    return jsonify(items=items)
