"""Visits over HTTP. Services flush; this layer commits once per request."""

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor
from tenant_app.visits import services
from tenant_app.visits.schemas import (
    DueArgs,
    DuePageSchema,
    PageArgs,
    PolicyInputSchema,
    PolicySchema,
    VisitCreateSchema,
    VisitPageSchema,
    VisitSchema,
)

blp = Blueprint("visits_api", __name__, description="Home visits (走访), visit intervals, due and overdue visits")


@blp.route("/children/<int:child_id>/visits")
class ChildVisitsResource(MethodView):
    @api_login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VisitPageSchema)
    def get(self, args, child_id):
        """A child's visits, newest first."""
        rows, total = services.list_visits(db.session, current_actor(), child_id, args["page"], args["per_page"])
        return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}

    @api_login_required
    @blp.arguments(VisitCreateSchema)
    @blp.response(201, VisitSchema)
    def post(self, data, child_id):
        """Record a visit (village staff; township and county staff for supervisor visits). A risk level or
        guardianship assessment given here updates the child's record (and its history)."""
        visit = services.record_visit(db.session, current_actor(), child_id, data)
        db.session.commit()
        return visit


@blp.route("/visits/due")
class DueVisitsResource(MethodView):
    @api_login_required
    @blp.arguments(DueArgs, location="query")
    @blp.response(200, DuePageSchema)
    def get(self, args):
        """Active children of a unit with their next visit due date, most overdue first
        (status: overdue, due_soon = due within 7 days, all)."""
        items, total = services.due_visits(db.session, current_actor(), unit=args["unit"], status=args["status"],
                                           page=args["page"], per_page=args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/visit-policy")
class VisitPolicyResource(MethodView):
    @api_login_required
    @blp.response(200, PolicySchema)
    def get(self):
        """The caller's province's visit intervals in days (defaults 30 / 90 / 180)."""
        return services.get_policy(db.session, current_actor())

    @api_login_required
    @blp.arguments(PolicyInputSchema)
    @blp.response(200, PolicySchema)
    def put(self, data):
        """Set the province's intervals (province staff only)."""
        result = services.set_policy(db.session, current_actor(), data)
        db.session.commit()
        return result
