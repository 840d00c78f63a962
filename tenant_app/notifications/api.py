"""The notification centre over HTTP."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from tenant_app.db import db
from tenant_app.notifications import services
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("notifications_api", __name__, description="Notifications")


class NotificationArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=services.PER_PAGE, validate=validate.Range(min=1, max=500))
    unread = fields.Boolean(load_default=False)


class NotificationSchema(Schema):
    id = fields.Integer()
    region_code = fields.String()
    user_id = fields.Integer(allow_none=True)
    kind = fields.String()
    title = fields.String()
    link = fields.Function(services.link_of)
    campaign_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    message = fields.String()
    sender_code = fields.String(allow_none=True)
    sender_name = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    unread_count = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ReadAllSchema(Schema):
    marked = fields.Integer()


@blp.route("/notifications")
class NotificationsResource(MethodView):
    @api_login_required
    @blp.arguments(NotificationArgs, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """My notifications (my unit's and mine), unread first then newest (`unread=true`: only unread)."""
        actor = current_actor()
        rows, total = services.list_notifications(db.session, actor, unread_only=args["unread"],
                                                  page=args["page"], per_page=args["per_page"])
        return {"items": rows, "total": total, "unread_count": services.unread_count(db.session, actor),
                "page": args["page"], "per_page": args["per_page"]}


@blp.route("/notifications/<int:notification_id>/read")
class NotificationReadResource(MethodView):
    @api_login_required
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one notification read."""
        row = services.mark_read(db.session, current_actor(), notification_id)
        db.session.commit()
        return row


@blp.route("/notifications/read-all")
class NotificationReadAllResource(MethodView):
    @api_login_required
    @blp.response(200, ReadAllSchema)
    def post(self):
        """Mark all my unread notifications read."""
        marked = services.mark_all_read(db.session, current_actor())
        db.session.commit()
        return {"marked": marked}
