"""Rolls over HTTP (/api/v1/rolls): uploads with a dry run and confirmation, versions, match runs with their
progress, results, and the grey band's decisions. Services flush; this layer commits once per request and
queues the match run after the commit."""

from __future__ import annotations

import io

from flask import current_app, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.children.excel import XLSX_MIMETYPE, errors_workbook
from tenant_app.db import db
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l
from tenant_app.links import review, rolls
from tenant_app.links.schemas import (
    ConfirmSchema,
    DecisionSchema,
    MatchPageSchema,
    MatchSchema,
    ResultArgs,
    ResultPageSchema,
    ReviewArgs,
    RunSchema,
    UploadForm,
    UploadListArgs,
    UploadPageSchema,
    UploadSchema,
)
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("rolls_api", __name__, description="Horizontal links (横向互联): partner departments' rolls "
                                                  "matched against the child records")
MAX_UPLOAD = 512 * 1024 * 1024  # a province's school roll as CSV (input_guard.LARGE_BODIES lets it in)


def _page(items, total, args) -> dict:
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def start_upload(actor, roll_kind: str, upload):
    """Shared by the API and the page: the dry run of an uploaded file."""
    rolls.require_department(actor)
    if upload is None or not upload.filename:
        raise ValidationFailed(_l("请选择要上传的文件"), errors={"file": [_l("请选择要上传的文件")]})
    stream = upload.stream  # read as a stream: the file stays where werkzeug spooled it
    stream.seek(0, io.SEEK_END)
    if stream.tell() > MAX_UPLOAD:
        raise ValidationFailed(_l("文件过大"), errors={"file": [_l("文件过大")]})
    stream.seek(0)
    up = rolls.dry_run(db.session, actor, roll_kind, upload.filename, stream)
    db.session.commit()
    return up


def errors_sheet(up):
    return send_file(io.BytesIO(errors_workbook(up.errors or [])), mimetype=XLSX_MIMETYPE, as_attachment=True,
                     download_name=f"名册错误_{up.id}.xlsx")


def confirm_upload(actor, upload_id: int, version: int):
    up, run = rolls.confirm(db.session, actor, upload_id, version)
    db.session.commit()
    rolls.enqueue_match(run, current_app.config.get("SHOUHU_REDIS_URL"))
    db.session.expire_all()
    return up


@blp.route("/rolls/uploads")
class UploadsResource(MethodView):
    @api_login_required
    @blp.arguments(UploadListArgs, location="query")
    @blp.response(200, UploadPageSchema)
    def get(self, args):
        """Versions and dry runs: a department's own; the units above read those of their subtree."""
        items, total = rolls.list_uploads(db.session, current_actor(), roll_kind=args["roll_kind"],
                                          page=args["page"], per_page=args["per_page"])
        return _page([rolls.summary(u) for u in items], total, args)

    @api_login_required
    @blp.arguments(UploadForm, location="form", content_type="multipart/form-data")
    @blp.response(201, UploadSchema)
    def post(self, form):
        """A department uploads a roll (multipart `file`, .xlsx or CSV): a dry run that writes nothing but the
        upload and its errors by row and column."""
        return rolls.summary(start_upload(current_actor(), form["roll_kind"], request.files.get("file")))


@blp.route("/rolls/uploads/<int:roll_upload_id>")
class UploadResource(MethodView):
    @api_login_required
    @blp.response(200, UploadSchema)
    def get(self, roll_upload_id):
        """One upload with its errors and its latest match run."""
        up = rolls.get_upload(db.session, current_actor(), roll_upload_id)
        return rolls.summary(up, rolls.latest_run(db.session, up.id))


@blp.route("/rolls/uploads/<int:roll_upload_id>/errors.xlsx")
class UploadErrorsResource(MethodView):
    @api_login_required
    @blp.response(200, content_type=XLSX_MIMETYPE)
    def get(self, roll_upload_id):
        """Every error of the dry run by row and column, as a sheet."""
        return errors_sheet(rolls.get_upload(db.session, current_actor(), roll_upload_id))


@blp.route("/rolls/uploads/<int:roll_upload_id>/confirm")
class UploadConfirmResource(MethodView):
    @api_login_required
    @blp.arguments(ConfirmSchema)
    @blp.response(200, UploadSchema)
    def post(self, body, roll_upload_id):
        """Make a checked upload the department's current version and queue its match run (409: confirmed
        already, or another version confirmed since the dry run)."""
        up = confirm_upload(current_actor(), roll_upload_id, body["version"])
        return rolls.summary(up, rolls.latest_run(db.session, up.id))


@blp.route("/rolls/uploads/<int:roll_upload_id>/results")
class UploadResultsResource(MethodView):
    @api_login_required
    @blp.arguments(ResultArgs, location="query")
    @blp.response(200, ResultPageSchema)
    def get(self, args, roll_upload_id):
        """The version's rows with their match status, score, method and the matched record's village."""
        items, total = rolls.results(db.session, current_actor(), roll_upload_id, status=args["status"],
                                     page=args["page"], per_page=args["per_page"])
        return _page(items, total, args)


@blp.route("/rolls/runs/<int:roll_run_id>")
class RunResource(MethodView):
    @api_login_required
    @blp.response(200, RunSchema)
    def get(self, roll_run_id):
        """A match run's progress: rows done of the total, linked and grey counts."""
        return rolls.run_summary(rolls.get_run(db.session, current_actor(), roll_run_id))


@blp.route("/rolls/matches")
class MatchesResource(MethodView):
    @api_login_required
    @blp.arguments(ReviewArgs, location="query")
    @blp.response(200, MatchPageSchema)
    def get(self, args):
        """The grey band of the caller's subtree (county and above), best score first; `status` for decided."""
        items, total = review.grey_queue(db.session, current_actor(), status=args["status"], page=args["page"],
                                         per_page=args["per_page"])
        return _page(items, total, args)


@blp.route("/rolls/matches/<int:roll_match_id>/decision")
class MatchDecisionResource(MethodView):
    @api_login_required
    @blp.arguments(DecisionSchema)
    @blp.response(200, MatchSchema)
    def post(self, body, roll_match_id):
        """County staff confirm or reject a grey match (`version`: stale or decided already, 409)."""
        match = review.decide(db.session, current_actor(), roll_match_id, body["decision"], body["version"])
        db.session.commit()
        review.after_commit(match)
        return review.one(db.session, match.id)

