"""Reports and cases over HTTP. Services flush; this layer commits once per request. A case returned in full
(to its county, township or village) is audited like a read."""

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.cases import actions, policy, reading, reports, workflow
from tenant_app.cases.schemas import (
    ActionCreateSchema,
    CaseAcceptSchema,
    CaseAdvanceSchema,
    CaseCloseSchema,
    CaseListArgs,
    CasePageArgs,
    CasePageSchema,
    CasePolicyInputSchema,
    CasePolicySchema,
    CaseReadArgs,
    CaseReopenSchema,
    CaseSchema,
    CaseScreenOutSchema,
    ReportCreateSchema,
    ReportPageSchema,
)
from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("cases_api", __name__,
                description="Mandatory reports (强制报告) and protection cases: stages, actions, the clock")


def _returned(case) -> dict:
    result = reading.view(db.session, current_actor(), case, reading.RETURNED_PURPOSE)
    db.session.commit()
    return result


@blp.route("/reports")
class ReportsResource(MethodView):
    @api_login_required
    @blp.arguments(CasePageArgs, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args):
        """Reports filed by the caller's unit, newest first, with their case's stage."""
        items, total = reports.list_own_reports(db.session, current_actor(), args["page"], args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}

    @api_login_required
    @blp.arguments(ReportCreateSchema)
    @blp.response(201, CaseSchema)
    def post(self, data):
        """File a report (staff): it opens a case in stage `reported`, handled by the county of the children's
        village (or of the village where it happened when no child record is known)."""
        return _returned(reports.file_report(db.session, current_actor(), data))


@blp.route("/cases")
class CasesResource(MethodView):
    @api_login_required
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, CasePageSchema)
    def get(self, args):
        """Cases of the caller's subtree sorted by the clock: overdue first, then by deadline (CST shown).
        Items carry category, stage, clock and outcome only."""
        items, total = reading.list_cases(db.session, current_actor(), unit=args["unit"], stage=args["stage"],
                                          open_only=args["open"], overdue=args["overdue"], page=args["page"],
                                          per_page=args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/cases/<int:case_id>")
class CaseResource(MethodView):
    @api_login_required
    @blp.arguments(CaseReadArgs, location="query")
    @blp.response(200, CaseSchema)
    def get(self, args, case_id):
        """One case: in full for its county, township and village (audited; the reporter for the county only),
        category, stage, clock and outcome for the units above."""
        result = reading.read_case(db.session, current_actor(), case_id, args["purpose"])
        db.session.commit()
        return result


def _step(service):
    def post(self, data, case_id):
        return _returned(service(db.session, current_actor(), case_id, data))

    return post


@blp.route("/cases/<int:case_id>/accept")
class CaseAcceptResource(MethodView):
    @api_login_required
    @blp.arguments(CaseAcceptSchema)
    @blp.response(200, CaseSchema)
    def post(self, data, case_id):
        """受理 (the handling county): reported → accepted."""
        return _step(workflow.accept)(self, data, case_id)


@blp.route("/cases/<int:case_id>/screen-out")
class CaseScreenOutResource(MethodView):
    @api_login_required
    @blp.arguments(CaseScreenOutSchema)
    @blp.response(200, CaseSchema)
    def post(self, data, case_id):
        """不予受理 with a reason (the handling county): reported → screened_out."""
        return _step(workflow.screen_out)(self, data, case_id)


@blp.route("/cases/<int:case_id>/advance")
class CaseAdvanceResource(MethodView):
    @api_login_required
    @blp.arguments(CaseAdvanceSchema)
    @blp.response(200, CaseSchema)
    def post(self, data, case_id):
        """One stage forward (the handling county): accepted → emergency | assessment, emergency → assessment,
        assessment → help_plan (after an assessment), help_plan → follow_up (after a help service).
        A step out of order is a 409 and writes nothing."""
        return _step(workflow.advance)(self, data, case_id)


@blp.route("/cases/<int:case_id>/close")
class CaseCloseResource(MethodView):
    @api_login_required
    @blp.arguments(CaseCloseSchema)
    @blp.response(200, CaseSchema)
    def post(self, data, case_id):
        """结案 with the outcome, approved by the handling county: follow_up → closed."""
        return _step(workflow.close)(self, data, case_id)


@blp.route("/cases/<int:case_id>/reopen")
class CaseReopenResource(MethodView):
    @api_login_required
    @blp.arguments(CaseReopenSchema)
    @blp.response(200, CaseSchema)
    def post(self, data, case_id):
        """Reopen with a reason (the handling county): closed → assessment, screened_out → reported."""
        return _step(workflow.reopen)(self, data, case_id)


@blp.route("/cases/<int:case_id>/actions")
class CaseActionsResource(MethodView):
    @api_login_required
    @blp.arguments(ActionCreateSchema)
    @blp.response(201, CaseSchema)
    def post(self, data, case_id):
        """Record an action on the timeline. The county records any kind the stage allows; staff of the
        child's township and village record assessments, help services, follow-up visits and notes."""
        actor = current_actor()
        row = actions.record_action(db.session, actor, case_id, data)
        return _returned(reading.get_case(db.session, row.case_id))


@blp.route("/case-policy")
class CasePolicyResource(MethodView):
    @api_login_required
    @blp.response(200, CasePolicySchema)
    def get(self):
        """The caller's province's time limits for cases (defaults when it has set none)."""
        return policy.get_policy(db.session, current_actor())

    @api_login_required
    @blp.arguments(CasePolicyInputSchema)
    @blp.response(200, CasePolicySchema)
    def put(self, data):
        """Set the province's time limits (province staff only)."""
        result = policy.set_policy(db.session, current_actor(), data)
        db.session.commit()
        return result
