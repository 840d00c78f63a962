"""Import and export pages: upload a workbook, watch the dry run, download the errors, confirm; export."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from tenant_app.children import access, excel, import_api, imports
from tenant_app.children import enums as E
from tenant_app.db import db
from tenant_app.errors import DomainError, Forbidden, NotFound
from tenant_app.extensions import login_manager
from tenant_app.i18n import gettext
from tenant_app.security import current_actor

bp = Blueprint("children_import", __name__, template_folder="templates")


@bp.before_request
def _require_login():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()


@bp.route("/children/import", methods=["GET", "POST"])
def import_page():
    actor = current_actor()
    error = None
    if request.method == "POST":
        try:
            imp = import_api.start_import(actor, request.files.get("file"))
            return redirect(url_for("children_import.progress_page", import_id=imp.id))
        except DomainError as exc:
            db.session.rollback()
            error = exc.detail
    return render_template("children/import.html", can_import=access.can_create(actor), error=error,
                           can_full=access.can_edit(actor), categories=E.CATEGORIES, risks=E.RISK_LEVELS,
                           statuses=E.STATUSES), 422 if error else 200


@bp.route("/children/import/template.xlsx")
def template_download():
    return import_api.xlsx(excel.template_workbook(), "儿童档案导入模板.xlsx")


@bp.route("/children/imports/<int:import_id>")
def progress_page(import_id):
    imp = imports.get_import(db.session, current_actor(), import_id)
    return render_template("children/import_progress.html", imp=imports.summary(imp))


@bp.route("/children/imports/<int:import_id>/status")
def progress_json(import_id):
    summary = imports.summary(imports.get_import(db.session, current_actor(), import_id))
    summary.pop("errors")
    summary["created_at"] = summary["created_at"].isoformat() if summary["created_at"] else None
    return jsonify(summary)


@bp.route("/children/imports/<int:import_id>/errors.xlsx")
def errors_download(import_id):
    imp = imports.get_import(db.session, current_actor(), import_id)
    return import_api.xlsx(excel.errors_workbook(imp.errors or []), f"导入错误_{imp.id}.xlsx")


@bp.route("/children/imports/<int:import_id>/confirm", methods=["POST"])
def confirm(import_id):
    try:
        import_api.confirm(current_actor(), import_id)
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound | Forbidden):
            raise  # no import of the caller's to go back to
        flash(exc.detail, "error")
    return redirect(url_for("children_import.progress_page", import_id=import_id))


@bp.route("/children/export.xlsx")
def export():
    args = {k: (request.args.get(k) or None) for k in ("unit", "category", "risk_level", "status", "q")}
    if args["category"] not in (None, *E.CATEGORIES) or args["risk_level"] not in (None, *E.RISK_LEVELS) \
            or args["status"] not in (None, *E.STATUSES):
        flash(gettext("筛选条件无效"), "error")
        return redirect(url_for("children_import.import_page"))
    unattended = request.args.get("unattended")
    args["unattended"] = True if unattended in ("1", "true") else None
    args["full_ids"] = request.args.get("full_ids") in ("1", "true", "on")
    return import_api.export(current_actor(), args)
