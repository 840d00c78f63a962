"""Child records over HTTP. Services flush; this layer commits once per request."""

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.children import probes, services, transfers
from tenant_app.children.schemas import (
    AuditArgs,
    AuditPageSchema,
    ChildCreateSchema,
    ChildListArgs,
    ChildPageSchema,
    ChildPatchSchema,
    ChildSchema,
    HistoryEntrySchema,
    PageArgs,
    ReadArgs,
    SecurityAlertPageSchema,
    TransferListArgs,
    TransferListSchema,
    TransferRequestSchema,
    TransferSchema,
    VersionSchema,
)
from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("children_api", __name__, description="Child records (一人一档), history, transfers, audit")


def _page(rows, total, args, item=lambda row: row):
    return {"items": [item(r) for r in rows], "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/children")
class ChildrenResource(MethodView):
    @api_login_required
    @blp.arguments(ChildListArgs, location="query")
    @blp.response(200, ChildPageSchema)
    def get(self, args):
        """Children of the caller's subtree (or of one unit within it); ID numbers masked."""
        filters = {k: args[k] for k in ("unit", "category", "risk_level", "status", "unattended", "q")}
        rows, total = services.list_children(db.session, current_actor(), **filters, page=args["page"],
                                             per_page=args["per_page"], summary=True)
        return _page(rows, total, args, services.list_item)

    @api_login_required
    @blp.arguments(ChildCreateSchema)
    @blp.response(201, ChildSchema)
    def post(self, data):
        """Create a record in the caller's village (village staff). The answer is the full record: audited."""
        actor = current_actor()
        child = services.create_child(db.session, actor, data)
        services.audit(db.session, actor, child, "create", services.RETURNED_PURPOSE)
        db.session.commit()
        return child


@blp.route("/children/<int:child_id>")
class ChildResource(MethodView):
    @api_login_required
    @blp.arguments(ReadArgs, location="query")
    @blp.response(200, ChildSchema)
    def get(self, args, child_id):
        """The full record with ID numbers and version; the read is audited (purpose from ?purpose=)."""
        child = services.get_child_for_read(db.session, current_actor(), child_id, args["purpose"])
        db.session.commit()
        return child

    @api_login_required
    @blp.arguments(ChildPatchSchema)
    @blp.response(200, ChildSchema)
    def patch(self, data, child_id):
        """Change fields; `version` must be the version read, else 409 and nothing changes. The answer is the
        full record: audited like a read, also when nothing changed."""
        actor = current_actor()
        child = services.update_child(db.session, actor, child_id, data)
        services.audit(db.session, actor, child, "update", services.RETURNED_PURPOSE)
        db.session.commit()
        return child


@blp.route("/children/<int:child_id>/history")
class ChildHistoryResource(MethodView):
    @api_login_required
    @blp.response(200, HistoryEntrySchema(many=True))
    def get(self, child_id):
        """Every version: who, when, which fields (old, new); ID numbers masked."""
        return services.history(db.session, current_actor(), child_id)


@blp.route("/children/<int:child_id>/history/<int:version>")
class ChildVersionResource(MethodView):
    @api_login_required
    @blp.arguments(ReadArgs, location="query")
    @blp.response(200, VersionSchema)
    def get(self, args, child_id, version):
        """The full record as it was at one version (audited)."""
        result = services.version_snapshot(db.session, current_actor(), child_id, version, args["purpose"])
        db.session.commit()
        return result


@blp.route("/children/<int:child_id>/transfer")
class ChildTransferResource(MethodView):
    @api_login_required
    @blp.arguments(TransferRequestSchema)
    @blp.response(201, TransferSchema)
    def post(self, data, child_id):
        """The child's village asks another village to take the child over."""
        transfer = transfers.request_transfer(db.session, current_actor(), child_id, data["to_village"], data["reason"])
        db.session.commit()
        return transfer


@blp.route("/transfers")
class TransfersResource(MethodView):
    @api_login_required
    @blp.arguments(TransferListArgs, location="query")
    @blp.response(200, TransferListSchema)
    def get(self, args):
        return {"items": transfers.list_transfers(db.session, current_actor(), args["direction"], args["status"])}


def _decide(action):
    def post(self, transfer_id):
        transfer = action(db.session, current_actor(), transfer_id)
        db.session.commit()
        return transfer

    return post


@blp.route("/transfers/<int:transfer_id>/accept")
class TransferAcceptResource(MethodView):
    @api_login_required
    @blp.response(200, TransferSchema)
    def post(self, transfer_id):
        """The receiving village accepts: the record moves to it."""
        return _decide(transfers.accept_transfer)(self, transfer_id)


@blp.route("/transfers/<int:transfer_id>/reject")
class TransferRejectResource(MethodView):
    @api_login_required
    @blp.response(200, TransferSchema)
    def post(self, transfer_id):
        return _decide(transfers.reject_transfer)(self, transfer_id)


@blp.route("/transfers/<int:transfer_id>/cancel")
class TransferCancelResource(MethodView):
    @api_login_required
    @blp.response(200, TransferSchema)
    def post(self, transfer_id):
        return _decide(transfers.cancel_transfer)(self, transfer_id)


@blp.route("/unattended")
class UnattendedResource(MethodView):
    @api_login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ChildPageSchema)
    def get(self, args):
        """Unattended children (无人监护) of a township's or county's subtree."""
        rows, total = services.list_unattended(db.session, current_actor(), args["unit"], args["page"],
                                               args["per_page"], summary=True)
        return _page(rows, total, args, services.list_item)


@blp.route("/audit")
class AuditResource(MethodView):
    @api_login_required
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """Full reads of child records in the admin's subtree."""
        rows, total = services.list_audit(db.session, current_actor(), unit=args["unit"], child_id=args["child_id"],
                                          page=args["page"], per_page=args["per_page"])
        return _page(rows, total, args)


@blp.route("/security-alerts")
class SecurityAlertsResource(MethodView):
    @api_login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SecurityAlertPageSchema)
    def get(self, args):
        """Alerts addressed to the caller's unit (a province), newest first, e.g. a user who found many ID
        numbers registered outside their area (administrators)."""
        rows, total = probes.list_alerts(db.session, current_actor(), args["page"], args["per_page"])
        return _page(rows, total, args)
