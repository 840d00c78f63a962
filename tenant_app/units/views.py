"""Pages for browsing the tree: the caller's unit, the units below it, and their contacts."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from hierarchy.codes import Level, parent_of
from tenant_app.db import db
from tenant_app.i18n import LEVEL_NAMES_ZH
from tenant_app.schema_base import MAX_PAGE
from tenant_app.units.services import (
    ancestor_units,
    child_counts,
    child_units,
    descendant_counts,
    visible_unit,
)
from tenant_app.users.services import contacts_of

bp = Blueprint("units", __name__, template_folder="templates")

PER_PAGE = 50


def page_arg() -> int:
    try:
        # Clamped: a page beyond any real list is simply empty, never an oversized OFFSET.
        return min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        return 1


@bp.route("/")
@login_required
def home():
    return _unit_page(current_user.region_code)


@bp.route("/units/<code>")
@login_required
def unit_page(code: str):
    return _unit_page(code)


def _counts_below(session, code: str) -> dict[str, int]:
    """Active descendants per level, for the levels below this unit only."""
    counts = descendant_counts(session, code)
    return {name: n for name, n in counts.items() if Level[name].code_length > len(code)}


def _unit_page(code: str):
    session = db.session
    actor = current_user._get_current_object()
    view = visible_unit(session, actor, code)
    unit = view.unit
    own_code = actor.region_code
    # Above the caller's unit: names only, no links. From the caller's unit down: links.
    ancestors = ancestor_units(session, unit.code)
    above = [a for a in ancestors if len(a.code) < len(own_code)]
    trail = [a for a in ancestors if len(a.code) >= len(own_code)]
    context = {
        "unit": unit,
        "full": view.full,
        "above": above,
        "trail": trail,
        "own_code": own_code,
        "up_code": None,
        "counts": {},
        "children": [],
        "total": 0,
        "grandchildren": {},
        "contacts": {},
        "page": 1,
        "per_page": PER_PAGE,
        "count_labels": LEVEL_NAMES_ZH,
    }
    if view.full:
        page = page_arg()
        children, total = child_units(session, unit.code, page=page, per_page=PER_PAGE)
        codes = [c.code for c in children]
        context.update(
            up_code=parent_of(unit.code) if unit.code != own_code else None,
            counts=_counts_below(session, unit.code),
            children=children,
            total=total,
            grandchildren=child_counts(session, codes),
            contacts=contacts_of(session, codes),
            page=page,
        )
    return render_template("units/unit.html", **context)
