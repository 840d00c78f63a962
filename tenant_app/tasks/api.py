"""Tasks over HTTP: the caller's list and review queue, one task, draft, submit, review, census
confirmation. Services flush; this layer commits once per request.

A closed campaign's tasks and approved tasks are read-only: writing to them is 409 Conflict (a state
conflict, like a stale `version`), never 403, which is kept for callers without the right."""

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor
from tenant_app.tasks import census, review, services
from tenant_app.tasks.schemas import (
    ApproveSchema,
    CensusArgs,
    CensusBulkResultSchema,
    CensusCheckResultSchema,
    CensusPageSchema,
    DraftSchema,
    ReturnSchema,
    SubmitSchema,
    TaskDetailSchema,
    TaskListArgs,
    TaskPageSchema,
    TaskSavedSchema,
)

blp = Blueprint("tasks_api", __name__, description="Tasks: answering, census confirmation, review, timeline")


def _detail(task_id: int):
    return services.task_detail(db.session, current_actor(), task_id)


def _commit_with_detail(task) -> dict:
    """The changed task's answer, read in the write's own transaction (one transaction per request), then the
    commit."""
    detail = services.task_detail(db.session, current_actor(), task.id, loaded=task)
    db.session.commit()
    return detail


def _prefers_minimal() -> bool:
    """The client asked for a minimal answer (RFC 7240 `Prefer: return=minimal`)."""
    preferences = request.headers.get("Prefer", "")
    return any(p.split(";")[0].strip().lower() == "return=minimal" for p in preferences.split(","))


_TASK_SAVED = TaskSavedSchema()


def _commit_saved(task):
    """The answer to a draft save or a submission: the whole task (`_commit_with_detail`), or with
    `Prefer: return=minimal` only what a client saving repeatedly needs next (the task's new status and version,
    and when it was saved), without reading the timeline, notes and attachments again."""
    if not _prefers_minimal():
        return _commit_with_detail(task)
    body = _TASK_SAVED.dump({"id": task.id, "status": task.status, "version": task.version,
                                   "saved_at": task.updated_at})
    db.session.commit()
    response = jsonify(body)
    response.headers["Preference-Applied"] = "return=minimal"
    return response


@blp.route("/tasks")
class TasksResource(MethodView):
    @api_login_required
    @blp.arguments(TaskListArgs, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args):
        """The caller's unit's tasks: open first, overdue first (open and its due date ended in China Standard
        Time), then by due date. Filters: `status`, `campaign`, `overdue`, `open=1` (pending, draft,
        returned). `review=1`: the tasks the caller's unit reviews (submitted ones unless `status` is given)."""
        items, total = services.list_tasks(
            db.session, current_actor(), status=args["status"], campaign_id=args["campaign"],
            overdue=args["overdue"], open_only=args["open"], review=args["review"], page=args["page"],
            per_page=args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/tasks/<int:task_id>")
class TaskResource(MethodView):
    @api_login_required
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id):
        """The task with its campaign (directive, form), the notes of the units above, the attachments and the
        timeline (the campaign's publication first, then every step: who, which unit, when)."""
        return _detail(task_id)


@blp.route("/tasks/<int:task_id>/draft")
class DraftResource(MethodView):
    @api_login_required
    @blp.arguments(DraftSchema)
    @blp.response(200, TaskDetailSchema)
    def put(self, data, task_id):
        """Save the answers as a draft (replacing the saved ones): types are checked, required answers may be
        missing. The task's unit's staff only; `version` (optional) must match. With the header
        `Prefer: return=minimal` the answer is only `{id, status, version, saved_at}` (TaskSaved), with
        `Preference-Applied: return=minimal`: for clients that save often (autosave)."""
        task = services.save_draft(db.session, current_actor(), task_id, data["answers"], version=data["version"])
        return _commit_saved(task)


@blp.route("/tasks/<int:task_id>/submit")
class SubmitResource(MethodView):
    @api_login_required
    @blp.arguments(SubmitSchema)
    @blp.response(200, TaskDetailSchema)
    def post(self, data, task_id):
        """Submit for review, validated against the whole form (422 with `errors: {question_key: [...]}`,
        and nothing saved). Without `answers`, the saved draft is submitted. A census task needs every active
        child confirmed (`errors.census`); its count questions default to the confirmation's counts.
        `Prefer: return=minimal`: only `{id, status, version, saved_at}`, as for a draft."""
        task = services.submit(db.session, current_actor(), task_id, data["answers"], version=data["version"])
        return _commit_saved(task)


@blp.route("/tasks/<int:task_id>/approve")
class ApproveResource(MethodView):
    @api_login_required
    @blp.arguments(ApproveSchema)
    @blp.response(200, TaskDetailSchema)
    def post(self, data, task_id):
        """Approve a submitted task (staff of the reviewing unit)."""
        task = review.approve(db.session, current_actor(), task_id, version=data["version"])
        return _commit_with_detail(task)


@blp.route("/tasks/<int:task_id>/return")
class ReturnResource(MethodView):
    @api_login_required
    @blp.arguments(ReturnSchema)
    @blp.response(200, TaskDetailSchema)
    def post(self, data, task_id):
        """Return a submitted task to its unit with a reason (1-500 characters)."""
        task = review.return_task(db.session, current_actor(), task_id, data["reason"], version=data["version"])
        return _commit_with_detail(task)


@blp.route("/tasks/<int:task_id>/census")
class CensusResource(MethodView):
    @api_login_required
    @blp.arguments(CensusArgs, location="query")
    @blp.response(200, CensusPageSchema)
    def get(self, args, task_id):
        """A census task's child records (active, and exited since publication), ID numbers masked,
        unconfirmed first; with the counts (confirmed, added, exited, total_active, unconfirmed)."""
        items, total, counts = census.list_children(db.session, current_actor(), task_id,
                                                    confirmed=args["confirmed"], q=args["q"],
                                                    page=args["page"], per_page=args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"],
                "counts": counts}


@blp.route("/tasks/<int:task_id>/census/<int:child_id>")
class CensusCheckResource(MethodView):
    @api_login_required
    @blp.response(200, CensusCheckResultSchema)
    def post(self, task_id, child_id):
        """Confirm one child record (idempotent; while the task is editable)."""
        result = census.confirm(db.session, current_actor(), task_id, child_id)
        db.session.commit()
        return result

    @api_login_required
    @blp.response(200, CensusCheckResultSchema)
    def delete(self, task_id, child_id):
        """Withdraw a confirmation (while the task is editable)."""
        result = census.unconfirm(db.session, current_actor(), task_id, child_id)
        db.session.commit()
        return result


@blp.route("/tasks/<int:task_id>/census/confirm-unchanged")
class CensusConfirmUnchangedResource(MethodView):
    @api_login_required
    @blp.response(200, CensusBulkResultSchema)
    def post(self, task_id):
        """Confirm at once every unconfirmed active record unchanged since the campaign was published."""
        result = census.confirm_unchanged(db.session, current_actor(), task_id)
        db.session.commit()
        return result
