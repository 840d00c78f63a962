"""Child records and Excel over HTTP: the template, imports (dry run, progress, errors, confirm), export."""

from __future__ import annotations

from flask import current_app, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import insert

from tenant_app import uploads
from tenant_app.children import access, excel, imports, services
from tenant_app.children.models import AuditEvent
from tenant_app.children.schemas import ChildListArgs
from tenant_app.db import db
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("children_import_api", __name__, description="Child records: Excel template, import, export")

EXPORT_LIMIT = 100_000
EXPORT_PURPOSE = "导出"


def redis_url():
    return current_app.config.get("SHOUHU_REDIS_URL")


def xlsx(data: bytes, name: str):
    import io

    return send_file(io.BytesIO(data), mimetype=excel.XLSX_MIMETYPE, as_attachment=True, download_name=name)


class ImportErrorSchema(Schema):
    row = fields.Integer()
    column = fields.String()
    field = fields.String()
    message = fields.String()


class ImportSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    filename = fields.String()
    total_rows = fields.Integer()
    rows_done = fields.Integer()
    error_count = fields.Integer()
    valid_count = fields.Integer()
    applied_count = fields.Integer()
    message = fields.String()
    errors = fields.List(fields.Nested(ImportErrorSchema))
    created_at = fields.DateTime()


class ExportArgs(ChildListArgs):
    full_ids = fields.Boolean(load_default=False)


def start_import(actor, upload) -> imports.ChildImport:
    """Shared by the API and the page: store the upload, commit, then run the dry run job."""
    if upload is None or not upload.filename:
        raise ValidationFailed(_l("请选择要上传的文件"), errors={"file": ["required"]})
    content = upload.read()
    if not uploads.content_is("xlsx", content):  # by content, whatever the name says
        raise ValidationFailed(_l("请上传 .xlsx 文件"),
                               errors={"file": [_l("不是 .xlsx 文件")]})
    imp = imports.start_dry_run(db.session, actor, upload.filename, content)
    db.session.commit()
    imports.enqueue_validate(imp.id, actor.region_code, redis_url())
    db.session.expire_all()
    return imports.get_import(db.session, actor, imp.id)


def confirm(actor, import_id: int) -> imports.ChildImport:
    imp = imports.request_confirm(db.session, actor, import_id)
    db.session.commit()
    imports.enqueue_apply(imp.id, actor.region_code, redis_url())
    db.session.expire_all()
    return imports.get_import(db.session, actor, import_id)


def export(actor, args: dict):
    """The filtered list as .xlsx; full ID numbers only when asked and allowed, one audit row per child."""
    filters = {k: args.get(k) for k in ("unit", "category", "risk_level", "status", "unattended", "q")}
    rows, _total = services.list_children(db.session, actor, **filters, page=1, per_page=EXPORT_LIMIT)
    full = bool(args.get("full_ids")) and access.can_edit(actor)
    if full and rows:
        now = imports.utcnow()
        db.session.execute(insert(AuditEvent), [
            {"region_code": c.region_code, "province_code": c.region_code[:2], "user_id": actor.id,
             "user_region_code": actor.region_code, "child_id": c.id, "action": "export", "purpose": EXPORT_PURPOSE,
             "at": now} for c in rows])
        db.session.commit()
    return xlsx(excel.export_workbook(rows, full_ids=full), "儿童档案.xlsx")


@blp.route("/children/import/template")
class TemplateResource(MethodView):
    @api_login_required
    @blp.response(200, content_type=excel.XLSX_MIMETYPE)
    def get(self):
        """The import template (.xlsx, Chinese headers)."""
        return xlsx(excel.template_workbook(), "儿童档案导入模板.xlsx")


@blp.route("/children/imports")
class ImportsResource(MethodView):
    @api_login_required
    @blp.response(202, ImportSchema)
    def post(self):
        """Upload a workbook (multipart field `file`): a dry run that writes nothing but its error list."""
        imp = start_import(current_actor(), request.files.get("file"))
        return imports.summary(imp)


@blp.route("/children/imports/<int:import_id>")
class ImportResource(MethodView):
    @api_login_required
    @blp.response(200, ImportSchema)
    def get(self, import_id):
        """Progress (rows done of total), counts and the first errors."""
        return imports.summary(imports.get_import(db.session, current_actor(), import_id))


@blp.route("/children/imports/<int:import_id>/errors.xlsx")
class ImportErrorsResource(MethodView):
    @api_login_required
    @blp.response(200, content_type=excel.XLSX_MIMETYPE)
    def get(self, import_id):
        """Every error of the dry run by row and column, as a sheet."""
        imp = imports.get_import(db.session, current_actor(), import_id)
        return xlsx(excel.errors_workbook(imp.errors or []), f"导入错误_{imp.id}.xlsx")


@blp.route("/children/imports/<int:import_id>/confirm")
class ImportConfirmResource(MethodView):
    @api_login_required
    @blp.response(202, ImportSchema)
    def post(self, import_id):
        """Apply the valid rows of a validated import, in one transaction (a job)."""
        return imports.summary(confirm(current_actor(), import_id))


@blp.route("/children/export.xlsx")
class ExportResource(MethodView):
    @api_login_required
    @blp.arguments(ExportArgs, location="query")
    @blp.response(200, content_type=excel.XLSX_MIMETYPE)
    def get(self, args):
        """The filtered list (same filters as GET /children) as .xlsx; `full_ids=1` for staff (audited)."""
        return export(current_actor(), args)
