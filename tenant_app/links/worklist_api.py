"""Worklists over HTTP (/api/v1/worklists): the per-unit overview, a village's lists, recomputing them, a
worklist turned into verification tasks, a task's items and their answers. Services flush; this layer commits
once per request. Departments are refused by their guard (tenant_app.links.departments): worklists are the
civil-affairs staff's work."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.links import verification, worklists
from tenant_app.links.models import WorklistItem
from tenant_app.links.worklist_schemas import (
    AnswerSchema,
    ItemArgs,
    ItemSchema,
    OverviewArgs,
    OverviewSchema,
    RefreshResultSchema,
    RefreshSchema,
    TaskItemArgs,
    TaskItemsSchema,
    VerificationCampaignSchema,
    VerificationResultSchema,
    VillageListSchema,
)
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("worklists_api", __name__, description="Worklists (核查清单): discrepancies between the partner "
                                                      "departments' rolls and the records, verified by the villages")


@blp.route("/worklists")
class OverviewResource(MethodView):
    @api_login_required
    @blp.arguments(OverviewArgs, location="query")
    @blp.response(200, OverviewSchema)
    def get(self, args):
        """Items still to verify per list: per village below a county or township, per child unit below a city
        or province (units without any left out), and the unit's totals."""
        actor = current_actor()
        return worklists.overview(db.session, actor, args["unit"] or actor.region_code, list_kind=args["list_kind"],
                                  page=args["page"], per_page=args["per_page"])


@blp.route("/worklists/<unit_code>/items")
class VillageItemsResource(MethodView):
    @api_login_required
    @blp.arguments(ItemArgs, location="query")
    @blp.response(200, VillageListSchema)
    def get(self, args, unit_code):
        """A village's lists: each one's counts, and a page of one list's items (ID numbers masked)."""
        return worklists.village_lists(db.session, current_actor(), unit_code, **args)


@blp.route("/worklists/refresh")
class RefreshResource(MethodView):
    @api_login_required
    @blp.arguments(RefreshSchema)
    @blp.response(200, RefreshResultSchema)
    def post(self, body):
        """Recompute the worklists of a county or above from the current rolls and the records (a job; inline
        without Redis: `lists` then gives the items listed)."""
        actor = current_actor()
        code = body["unit"] or actor.region_code
        worklists.request_refresh(db.session, actor, code)
        db.session.commit()
        result = worklists.enqueue_refresh(code)
        lists = result if isinstance(result, dict) else None
        return {"unit": code, "queued": lists is None, "lists": lists}


@blp.route("/worklists/campaigns")
class CampaignsResource(MethodView):
    @api_login_required
    @blp.arguments(VerificationCampaignSchema)
    @blp.response(201, VerificationResultSchema)
    def post(self, body):
        """A county turns one list into a verification campaign: one task for exactly each village with items
        on it (or of `villages`), each listing its items to answer."""
        campaign, moved = verification.create_campaign(db.session, current_actor(), **body)
        result = {"campaign_id": campaign.id, "title": campaign.title, "list_kind": body["list_kind"],
                  "task_count": campaign.task_count, "items": moved}
        db.session.commit()
        return result


@blp.route("/worklists/tasks/<int:task_id>/items")
class TaskItemsResource(MethodView):
    @api_login_required
    @blp.arguments(TaskItemArgs, location="query")
    @blp.response(200, TaskItemsSchema)
    def get(self, args, task_id):
        """A verification task's items, unanswered first, with its counts."""
        return verification.task_items(db.session, current_actor(), task_id, **args)


@blp.route("/worklists/items/<int:worklist_item_id>/answer")
class AnswerResource(MethodView):
    @api_login_required
    @blp.arguments(AnswerSchema)
    @blp.response(200, ItemSchema)
    def post(self, body, worklist_item_id):
        """The village's answer for one item (`version`: stale 409): confirmed, corrected, added to records or
        not found; the record changes through its history."""
        item = verification.answer(db.session, current_actor(), worklist_item_id, body)
        db.session.commit()
        row = db.session.execute(worklists.item_query().where(WorklistItem.id == item.id)).one()
        return worklists.item_dict(row)
