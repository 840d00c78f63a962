"""Figures over HTTP: read-only, scoped like every other read (a unit outside the caller's subtree is 404)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app import read_cache
from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor
from tenant_app.stats import services
from tenant_app.stats.schemas import HistoryArgs, HistorySchema, UnitStatsSchema

blp = Blueprint("stats_api", __name__, description="Figures per unit (roll-ups), their monthly history")


@blp.route("/stats/<code>")
class UnitStatsResource(MethodView):
    @api_login_required
    @read_cache.cached
    @blp.response(200, UnitStatsSchema)
    def get(self, code):
        """A unit's stored figures with its direct child units' and its open campaigns' progress."""
        return services.get_stats(db.session, current_actor(), code)


@blp.route("/stats/<code>/history")
class UnitStatsHistoryResource(MethodView):
    @api_login_required
    @blp.arguments(HistoryArgs, location="query")
    @blp.response(200, HistorySchema)
    def get(self, args, code):
        """The unit's monthly snapshots (the last figures of each month), oldest first."""
        return services.get_history(db.session, current_actor(), code, args["months"])
