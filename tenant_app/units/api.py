from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.errors import NotFound
from tenant_app.i18n import _l
from tenant_app.security import api_login_required
from tenant_app.units.schemas import ContactsSchema, PageArgsSchema, UnitPageSchema, UnitSchema
from tenant_app.units.services import child_units, descendant_counts, visible_unit
from tenant_app.users.services import contacts_of

blp = Blueprint("units_api", __name__, description="The administrative tree")


@blp.route("/units/<code>")
class UnitResource(MethodView):
    @api_login_required
    @blp.response(200, UnitSchema)
    def get(self, code):
        """A unit of the caller's subtree with its active descendants per level.

        The caller's ancestors show only code, name and level; any other unit is a 404.
        """
        view = visible_unit(db.session, current_user, code)
        unit = view.unit
        if not view.full:
            return {"code": unit.code, "name": unit.name, "level": unit.level_name}
        return {
            "code": unit.code,
            "name": unit.name,
            "level": unit.level_name,
            "parent_code": unit.parent_code,
            "retired": unit.retired,
            "counts": descendant_counts(db.session, unit.code),
        }


@blp.route("/units/<code>/children")
class UnitChildrenResource(MethodView):
    @api_login_required
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, UnitPageSchema)
    def get(self, args, code):
        """Direct children of a unit in the caller's subtree, paginated."""
        view = visible_unit(db.session, current_user, code)
        if not view.full:
            raise NotFound(_l("单位不存在"))
        rows, total = child_units(db.session, code, page=args["page"], per_page=args["per_page"])
        return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/units/<code>/contacts")
class UnitContactsResource(MethodView):
    @api_login_required
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ContactsSchema)
    def get(self, args, code):
        """Active staff of a unit and of its direct children (page of children as in /children):
        a village's staff are its children's directors, a township's its supervisors."""
        view = visible_unit(db.session, current_user, code)
        if not view.full:
            raise NotFound(_l("单位不存在"))
        children, _total = child_units(db.session, code, page=args["page"], per_page=args["per_page"])
        contacts = contacts_of(db.session, [code, *(c.code for c in children)])
        return {"unit": contacts.pop(code, []), "children": contacts}
