"""Campaigns over HTTP: issue, publish, close, extend, receipts, tracking, reminders, notifications.

Services flush; this layer commits once per request, and enqueues the fan-out only after the publish commit.
"""

from __future__ import annotations

import io

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app import read_cache
from tenant_app.campaigns import attachments, catalog, exports, lifecycle, reminders, services
from tenant_app.campaigns import progress as tracking
from tenant_app.campaigns.reminder_history import reminder_history
from tenant_app.campaigns.schemas import (
    CampaignAttachmentSchema,
    CampaignCreateSchema,
    CampaignDetailSchema,
    CampaignListArgs,
    CampaignPageSchema,
    CampaignUpdateSchema,
    CampaignVersionSchema,
    ExtendResultSchema,
    ExtendSchema,
    OverdueArgs,
    OverduePageSchema,
    PageArgs,
    ProgressSchema,
    ReceiptInputSchema,
    ReceiptSchema,
    ReminderHistoryPageSchema,
    RemindResultSchema,
    RemindSchema,
    SummarySchema,
    TemplateSchema,
    UnitArgs,
)
from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("campaigns_api", __name__, description="Campaigns (工作部署): issuing, fan-out, receipts (签收), "
                "tracking, reminders (催办)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _detail(campaign):
    return services.campaign_detail(db.session, current_actor(), campaign)


@blp.route("/campaign-templates")
class TemplatesResource(MethodView):
    @api_login_required
    @blp.response(200, TemplateSchema(many=True))
    def get(self):
        """The shipped templates (census 摸底排查, holiday safety check, special action)."""
        return catalog.listing()


@blp.route("/campaigns")
class CampaignsResource(MethodView):
    @api_login_required
    @blp.arguments(CampaignListArgs, location="query")
    @blp.response(200, CampaignPageSchema)
    def get(self, args):
        """`box=issued`: my unit's campaigns (drafts included); `box=received`: my ancestors' published ones."""
        actor = current_actor()
        rows, total = services.list_campaigns(db.session, actor, args["box"], args["page"], args["per_page"])
        return {"items": [services.campaign_dict(db.session, c) for c in rows], "total": total,
                "page": args["page"], "per_page": args["per_page"]}

    @api_login_required
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignDetailSchema)
    def post(self, data):
        """Create a draft (staff of a province, city, county or township). `template` prefills what is not
        given; target level defaults to village, reviewer level to township; `questions` is the form."""
        campaign = services.create_campaign(db.session, current_actor(), data)
        db.session.commit()
        return _detail(campaign)


@blp.route("/campaigns/<int:campaign_id>")
class CampaignResource(MethodView):
    @api_login_required
    @blp.response(200, CampaignDetailSchema)
    def get(self, campaign_id):
        """A campaign with its attachments, the notes of the receiving units above the caller, and the
        caller's receipt and task."""
        return _detail(services.get_campaign(db.session, current_actor(), campaign_id))

    @api_login_required
    @blp.arguments(CampaignUpdateSchema)
    @blp.response(200, CampaignDetailSchema)
    def patch(self, data, campaign_id):
        """Edit a draft (`version` required; 409 when stale)."""
        campaign = services.update_draft(db.session, current_actor(), campaign_id, data)
        db.session.commit()
        return _detail(campaign)

    @api_login_required
    @blp.response(204)
    def delete(self, campaign_id):
        """Delete a draft."""
        services.delete_draft(db.session, current_actor(), campaign_id)
        db.session.commit()


@blp.route("/campaigns/<int:campaign_id>/publish")
class PublishResource(MethodView):
    @api_login_required
    @blp.response(202, CampaignDetailSchema)
    def post(self, campaign_id):
        """Publish: the fan-out job creates one task per active target unit and one receipt per intermediate
        unit, in one transaction. Publishing again creates nothing new."""
        actor = current_actor()
        campaign, enqueue = lifecycle.publish(db.session, actor, campaign_id)
        db.session.commit()
        if enqueue:
            lifecycle.enqueue_fanout(campaign.id, campaign.issuer_code)
        db.session.expire_all()
        return _detail(services.get_campaign(db.session, actor, campaign_id))


@blp.route("/campaigns/<int:campaign_id>/close")
class CloseResource(MethodView):
    @api_login_required
    @blp.arguments(CampaignVersionSchema)
    @blp.response(200, CampaignDetailSchema)
    def post(self, data, campaign_id):
        """Close an open campaign (the issuer's staff)."""
        campaign = lifecycle.close(db.session, current_actor(), campaign_id, data.get("version"))
        db.session.commit()
        return _detail(campaign)


@blp.route("/campaigns/<int:campaign_id>/extend")
class ExtendResource(MethodView):
    @api_login_required
    @blp.arguments(ExtendSchema)
    @blp.response(200, ExtendResultSchema)
    def post(self, data, campaign_id):
        """Move the due date later: the issuer's staff for the whole campaign, a county's staff for its own
        subtree. Every task due earlier moves to the new date."""
        result = lifecycle.extend(db.session, current_actor(), campaign_id, data["due_on"], data.get("version"))
        db.session.commit()
        return result


@blp.route("/campaigns/<int:campaign_id>/receipt")
class ReceiptResource(MethodView):
    @api_login_required
    @blp.response(200, ReceiptSchema)
    def get(self, campaign_id):
        """My unit's receipt (intermediate units only)."""
        return services.receipt_dict(services.my_receipt(db.session, current_actor(), campaign_id))

    @api_login_required
    @blp.arguments(ReceiptInputSchema)
    @blp.response(200, ReceiptSchema)
    def post(self, data, campaign_id):
        """Acknowledge (签收), optionally with a note that my unit's subtree sees."""
        receipt = services.acknowledge(db.session, current_actor(), campaign_id, data.get("note"))
        db.session.commit()
        return services.receipt_dict(receipt)


@blp.route("/campaigns/<int:campaign_id>/attachments")
class AttachmentsResource(MethodView):
    @api_login_required
    @blp.response(201, CampaignAttachmentSchema)
    def post(self, campaign_id):
        """Attach a file (multipart field `file`; pdf, doc, docx, xls, xlsx, jpg, png; at most 10 MB)."""
        upload = request.files.get("file")
        content = upload.read(attachments.MAX_BYTES + 1) if upload else None
        attachment = attachments.add_attachment(db.session, current_actor(), campaign_id,
                                                upload.filename if upload else None, content)
        db.session.commit()
        return attachment


@blp.route("/campaigns/<int:campaign_id>/attachments/<int:attachment_id>")
class AttachmentResource(MethodView):
    @api_login_required
    def get(self, campaign_id, attachment_id):
        """Download an attachment."""
        a = attachments.get_attachment(db.session, current_actor(), campaign_id, attachment_id)
        return attachments.download_response(a)


def _tracked(campaign_id: int, unit: str | None):
    actor = current_actor()
    campaign = services.get_campaign(db.session, actor, campaign_id)
    return campaign, services.tracked_unit(actor, campaign, unit)


@blp.route("/campaigns/<int:campaign_id>/progress")
class ProgressResource(MethodView):
    @api_login_required
    @read_cache.cached
    @blp.arguments(UnitArgs, location="query")
    @blp.response(200, ProgressSchema)
    def get(self, args, campaign_id):
        """Progress of a unit of my subtree (default: mine) and of each child unit, worst first.

        completed = submitted + approved; completion_rate = completed / total; overdue = not started, draft or
        returned after the due date has ended in China Standard Time; on_time_rate = completed tasks submitted
        before the end of their due date (CST) / completed, null when nothing is completed. Intermediate child
        units also report receipts acknowledged / total under them."""
        campaign, unit = _tracked(campaign_id, args["unit"])
        return tracking.progress(db.session, campaign, unit)


@blp.route("/campaigns/<int:campaign_id>/overdue")
class OverdueResource(MethodView):
    @api_login_required
    @read_cache.cached
    @blp.arguments(OverdueArgs, location="query")
    @blp.response(200, OverduePageSchema)
    def get(self, args, campaign_id):
        """Overdue tasks under a unit, longest overdue first, with each unit's directors (name, phone)."""
        campaign, unit = _tracked(campaign_id, args["unit"])
        items, total = tracking.overdue_list(db.session, campaign, unit, args["page"], args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/campaigns/<int:campaign_id>/answers/summary")
class SummaryResource(MethodView):
    @api_login_required
    @read_cache.cached
    @blp.arguments(UnitArgs, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args, campaign_id):
        """Answers of the completed tasks under a unit: numbers summed, yes/no and options counted, text and
        dates counted as answered."""
        campaign, unit = _tracked(campaign_id, args["unit"])
        return tracking.answers_summary(db.session, campaign, unit)


@blp.route("/campaigns/<int:campaign_id>/export")
class ExportResource(MethodView):
    @api_login_required
    @blp.arguments(UnitArgs, location="query")
    def get(self, args, campaign_id):
        """Progress and answers under a unit as .xlsx."""
        campaign, unit = _tracked(campaign_id, args["unit"])
        content = exports.export_workbook(db.session, campaign, unit)
        return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                         download_name=f"campaign-{campaign.id}-{unit}.xlsx")


@blp.route("/campaigns/<int:campaign_id>/reminders")
class ReminderHistoryResource(MethodView):
    @api_login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ReminderHistoryPageSchema)
    def get(self, args, campaign_id):
        """Reminders sent for this campaign that reached my subtree: sender, time, message, units, newest first."""
        items, total = reminder_history(db.session, current_actor(), campaign_id, args["page"], args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/campaigns/<int:campaign_id>/remind")
class RemindResource(MethodView):
    @api_login_required
    @blp.arguments(RemindSchema)
    @blp.response(201, RemindResultSchema)
    def post(self, data, campaign_id):
        """Remind (催办) units of my subtree: one notification to each listed unit, or with `subtree` to every
        target unit under them whose task is not completed. Staff from the issuer down to the reviewer level."""
        result = reminders.remind(db.session, current_actor(), campaign_id, data["units"], data["subtree"],
                                  data.get("message"))
        db.session.commit()
        return result
