"""The entrusted guardianship confirmation (委托监护责任确认书): a printable page generated from the child record
(the child, the parents and where they work, the entrusted guardian, the duties of each, the contacts of the
village and the township), and the form that records the day it was signed on the record (through the children
service: a new version in the record's history, the roll-up's confirmation share follows).

Printing is a full read of the record (ID numbers in clear): it leaves an audit row like the printed file.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.auth.models import User
from tenant_app.children import access
from tenant_app.children import services as children
from tenant_app.db import db
from tenant_app.errors import Conflict, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.security import current_actor

bp = Blueprint("confirmation", __name__, template_folder="templates")

PRINT_PURPOSE = "打印委托监护责任确认书 / print guardianship confirmation"
# What each party undertakes: the duties the 2016 State Council opinion on left-behind children and the
# Minor Protection Law (arts. 22-23) give parents who work away and the person they entrust.
PARENT_DUTIES = (
    _l("父母外出务工期间依法履行监护职责，不因委托而免除监护责任。"),
    _l("每周至少与儿童联系一次，每年至少回家看望一次，关注儿童学习、生活和身心健康。"),
    _l("委托监护人变更或不能履行职责时，及时告知村（居）民委员会并另行委托。"),
)
GUARDIAN_DUTIES = (
    _l("照料儿童日常生活，保障儿童的基本生活和人身安全，不让儿童脱离监护单独居住。"),
    _l("督促儿童按时入学、接受并完成义务教育，不让儿童辍学。"),
    _l("关注儿童身心健康，发现异常及时告知父母和村（居）儿童主任。"),
    _l("教育引导儿童遵纪守法，防范溺水、交通、用电等安全风险。"),
    _l("儿童遭受侵害或下落不明时，立即报告公安机关和村（居）民委员会。"),
)


def _contacts(session, child) -> list[dict]:
    """The village's children's directors and the township's supervisors (staff, active)."""
    codes = (child.region_code, child.region_code[:9])
    units = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())
    people = session.execute(select(User.region_code, User.real_name, User.phone).where(
        User.region_code.in_(codes), User.role == "staff", User.active.is_(True))
        .order_by(User.region_code.desc(), User.id)).all()
    return [{"unit": units.get(p.region_code, p.region_code), "name": p.real_name, "phone": p.phone,
             "director": p.region_code == child.region_code} for p in people]


# One rule for both methods: with two rules on one path, an id the converter refuses answered 405 to a POST
# instead of 404.
@bp.route("/children/<int:child_id>/guardianship-confirmation", methods=["GET", "POST"])
@login_required
def page(child_id: int):
    if request.method == "POST":
        return _record(child_id)
    session = db.session
    actor = current_actor()
    child = children.get_child_for_read(session, actor, child_id, PRINT_PURPOSE)
    session.commit()
    return render_template("printing/confirmation.html", child=child,
                           unit=session.get(Unit, child.region_code), contacts=_contacts(session, child),
                           parent_duties=PARENT_DUTIES, guardian_duties=GUARDIAN_DUTIES,
                           can_record=access.can_edit(actor), today=clock.today_cst(), printed_at=clock.now())


def _record(child_id: int):
    """Record the signing day on the record (a past or today's date; empty clears it)."""
    session = db.session
    # A record outside the caller's reach is not found, whatever the form holds: a refused form must not answer
    # differently for a sibling's record and for one that exists nowhere.
    children.get_child(session, child_id)
    value = (request.form.get("signed_on") or "").strip()
    try:
        signed_on = date.fromisoformat(value) if value else None
        if signed_on is not None and signed_on > clock.today_cst():
            raise ValueError
        version = int(request.form.get("version", ""))
    except ValueError:
        flash(_l("签订日期有误"), "error")
        return redirect(url_for("confirmation.page", child_id=child_id))
    try:
        children.update_child(session, current_actor(), child_id,
                              {"version": version, "guardianship_confirmed_on": signed_on})
        session.commit()
    except (Conflict, ValidationFailed) as exc:
        session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("confirmation.page", child_id=child_id))
    flash(_l("已记录签订日期"), "success")
    return redirect(url_for("confirmation.page", child_id=child_id))
