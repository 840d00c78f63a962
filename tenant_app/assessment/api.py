"""The assessment over HTTP: the league table, one unit's figures, its trend, and the scheme of weights."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.assessment import schemas as S
from tenant_app.assessment import services
from tenant_app.db import db
from tenant_app.i18n import both_languages
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("assessment_api", __name__, description="Assessment (考核): scores and ranks of units per period")


@blp.route("/assessments")
class LeagueResource(MethodView):
    @api_login_required
    @blp.arguments(S.LeagueArgs, location="query")
    @blp.response(200, S.LeagueSchema)
    def get(self, args):
        """The league table: every unit of the level assessed (default: the child units of the caller's unit)
        with its total score (0-100), rank (ties share a rank) and sub-scores, best first."""
        page, per_page = args.pop("page"), args.pop("per_page")
        result = services.league(db.session, current_actor(), **args)
        result["notes"] = both_languages(result["notes"])
        result["rows"] = result["rows"][(page - 1) * per_page: page * per_page]
        query = {"period_start": result["period_start"].isoformat(), "period_end": result["period_end"].isoformat()}
        if args.get("unit"):
            query["unit"] = result["unit"]["code"]
        for row in result["rows"]:
            row["detail"] = url_for("assessment_api.DetailResource", code=row["code"], **query)
        return {**result, "page": page, "per_page": per_page}


@blp.route("/assessments/<code>")
class DetailResource(MethodView):
    @api_login_required
    @blp.arguments(S.PeriodArgs, location="query")
    @blp.response(200, S.DetailSchema)
    def get(self, args, code):
        """One unit's figures, the counts behind them, each sub-score, weight and contribution, and its rank in
        the set of its level under the assessing unit. A unit outside the caller's subtree: 404."""
        result = services.detail(db.session, current_actor(), code, **args)
        result["notes"] = both_languages(result["notes"])
        return result


@blp.route("/assessments/<code>/trend")
class TrendResource(MethodView):
    @api_login_required
    @blp.arguments(S.TrendArgs, location="query")
    @blp.response(200, S.TrendSchema)
    def get(self, args, code):
        """The unit's total score and rank for each month of the year up to today (month periods)."""
        return services.trend(db.session, current_actor(), code, **args)


@blp.route("/assessment-scheme")
class SchemeResource(MethodView):
    @api_login_required
    @blp.arguments(S.SchemeArgs, location="query")
    @blp.response(200, S.SchemeSchema)
    def get(self, args):
        """The weights of the caller's province for a year (the default scheme when none is set)."""
        return services.get_scheme(db.session, current_actor(), args["year"])

    @api_login_required
    @blp.arguments(S.SchemeInputSchema)
    @blp.response(200, S.SchemeSchema)
    def put(self, data):
        """Set the province's weights for a year (province staff and admins): integers 0-100 summing to 100."""
        result = services.set_scheme(db.session, current_actor(), data)
        db.session.commit()
        return result
