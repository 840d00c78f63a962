"""The roster and Excel over HTTP: the template, imports (dry run, errors sheet, confirm) and the export."""

from __future__ import annotations

import io

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import insert, select

from hierarchy.models import Unit
from tenant_app import clock, uploads
from tenant_app.db import db
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import unit_code_field
from tenant_app.security import api_login_required, current_actor
from tenant_app.workforce import access, excel, imports
from tenant_app.workforce.models import Appointment, RosterPerson, RosterRead

blp = Blueprint("roster_import_api", __name__, description="The roster: Excel template, import, export")

EXPORT_LIMIT = 100_000
EXPORT_PURPOSE = "导出名册 / roster export"


def xlsx(data: bytes, name: str):
    return send_file(io.BytesIO(data), mimetype=excel.XLSX_MIMETYPE, as_attachment=True, download_name=name)


class RosterImportErrorSchema(Schema):
    row = fields.Integer()
    column = fields.String()
    field = fields.String()
    message = fields.String()


class RosterImportSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    filename = fields.String()
    total_rows = fields.Integer()
    error_count = fields.Integer()
    valid_count = fields.Integer()
    applied_count = fields.Integer()
    message = fields.String()
    errors = fields.List(fields.Nested(RosterImportErrorSchema))
    created_at = fields.DateTime()


class RosterExportArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True)
    full_ids = fields.Boolean(load_default=False, metadata={"description": "staff and administrators: full ID "
                                                                           "numbers (each person audited)"})


def start_import(actor, upload) -> imports.RosterImport:
    """Shared by the API and the page: the dry run of an uploaded workbook."""
    access.require_manage(actor)
    if upload is None or not upload.filename:
        raise ValidationFailed(_l("请选择要上传的文件"), errors={"file": [_l("请选择要上传的文件")]})
    content = upload.read()
    if not uploads.content_is("xlsx", content):
        raise ValidationFailed(_l("请上传 .xlsx 文件"), errors={"file": [_l("不是 .xlsx 文件")]})
    imp = imports.dry_run(db.session, actor, upload.filename, content)
    db.session.commit()
    return imp


def export(actor, args: dict):
    """Every appointment held today in a subtree, with its person, as .xlsx; full ID numbers audited."""
    today = clock.today_cst()
    query = (select(Appointment.region_code, Appointment.post, Appointment.employment, Appointment.other_post,
                    Appointment.appointed_on, Appointment.left_on, RosterPerson.id, RosterPerson.name,
                    RosterPerson.sex, RosterPerson.id_number, RosterPerson.phone, RosterPerson.qualifications,
                    RosterPerson.region_code.label("person_region"))
             .join(RosterPerson, RosterPerson.id == Appointment.person_id)
             .where(access.subtree(Appointment.region_code, actor, args.get("unit")),
                    Appointment.appointed_on <= today,
                    (Appointment.left_on.is_(None)) | (Appointment.left_on > today))
             .order_by(Appointment.region_code).limit(EXPORT_LIMIT))
    rows = [r._asdict() for r in db.session.execute(query)]
    codes = sorted({r["region_code"] for r in rows})
    names = {}
    for start in range(0, len(codes), 5000):
        names.update(db.session.execute(select(Unit.code, Unit.name).where(
            Unit.code.in_(codes[start:start + 5000]))).all())
    full = bool(args.get("full_ids")) and access.can_manage(actor)
    if full and rows:
        now = clock.now()
        db.session.execute(insert(RosterRead), [
            {"region_code": r["person_region"], "province_code": r["person_region"][:2], "person_id": r["id"],
             "user_id": actor.id,
             "user_region_code": actor.region_code, "action": "export", "purpose": EXPORT_PURPOSE, "at": now}
            for r in rows])
        db.session.commit()
    return xlsx(excel.export_workbook(rows, names, full_ids=full), "儿童主任和督导员名册.xlsx")


@blp.route("/roster/import/template")
class TemplateResource(MethodView):
    @api_login_required
    @blp.response(200, content_type=excel.XLSX_MIMETYPE)
    def get(self):
        """The import template (.xlsx, Chinese headers)."""
        return xlsx(excel.template_workbook(), "名册导入模板.xlsx")


@blp.route("/roster/imports")
class ImportsResource(MethodView):
    @api_login_required
    @blp.response(201, RosterImportSchema)
    def post(self):
        """Upload a workbook (multipart field `file`): a dry run that writes nothing but its error list."""
        return imports.summary(start_import(current_actor(), request.files.get("file")))


@blp.route("/roster/imports/<int:roster_import_id>")
class ImportResource(MethodView):
    @api_login_required
    @blp.response(200, RosterImportSchema)
    def get(self, roster_import_id):
        """Counts and the first errors of a dry run."""
        return imports.summary(imports.get_import(db.session, current_actor(), roster_import_id))


@blp.route("/roster/imports/<int:roster_import_id>/errors.xlsx")
class ImportErrorsResource(MethodView):
    @api_login_required
    @blp.response(200, content_type=excel.XLSX_MIMETYPE)
    def get(self, roster_import_id):
        """Every error of the dry run by row and column, as a sheet."""
        imp = imports.get_import(db.session, current_actor(), roster_import_id)
        return xlsx(excel.errors_workbook(imp.errors or []), f"名册导入错误_{imp.id}.xlsx")


@blp.route("/roster/imports/<int:roster_import_id>/confirm")
class ImportConfirmResource(MethodView):
    @api_login_required
    @blp.response(200, RosterImportSchema)
    def post(self, roster_import_id):
        """Apply the valid rows of a dry run in one transaction; changed since: nothing written, new errors."""
        imp = imports.confirm(db.session, current_actor(), roster_import_id)
        db.session.commit()
        return imports.summary(imp)


@blp.route("/roster/export.xlsx")
class ExportResource(MethodView):
    @api_login_required
    @blp.arguments(RosterExportArgs, location="query")
    @blp.response(200, content_type=excel.XLSX_MIMETYPE)
    def get(self, args):
        """The posts held today in a subtree as .xlsx; `full_ids=1` for staff and administrators (audited)."""
        return export(current_actor(), args)
