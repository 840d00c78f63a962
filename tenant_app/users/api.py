from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.security import role_required
from tenant_app.users import services
from tenant_app.users.schemas import (
    PasswordResetSchema,
    UserCreateSchema,
    UserListArgsSchema,
    UserPageSchema,
    UserSchema,
)

blp = Blueprint("users_api", __name__, description="Users of the caller's subtree (admins only)")


@blp.route("/users")
class UsersResource(MethodView):
    @role_required("admin")
    @blp.arguments(UserListArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """Users of the caller's subtree, or of one unit's subtree within it."""
        rows, total = services.list_users(db.session, current_user, args["unit"],
                                          page=args["page"], per_page=args["per_page"])
        return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}

    @role_required("admin")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user in the caller's subtree with a role no higher than the caller's."""
        user = services.create_user(db.session, current_user, data)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>")
class UserResource(MethodView):
    @role_required("admin")
    @blp.response(200, UserSchema)
    def get(self, user_id):
        return services.get_managed_user(db.session, current_user, user_id)


@blp.route("/users/<int:user_id>/disable")
class UserDisableResource(MethodView):
    @role_required("admin")
    @blp.response(200, UserSchema)
    def post(self, user_id):
        """Disable a user: its sessions and tokens stop working at once."""
        user = services.disable_user(db.session, current_user, user_id)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>/enable")
class UserEnableResource(MethodView):
    @role_required("admin")
    @blp.response(200, UserSchema)
    def post(self, user_id):
        user = services.enable_user(db.session, current_user, user_id)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>/password")
class UserPasswordResource(MethodView):
    @role_required("admin")
    @blp.arguments(PasswordResetSchema)
    @blp.response(200, UserSchema)
    def post(self, data, user_id):
        """Set a new password; the user's sessions and tokens stop working."""
        user = services.reset_password(db.session, current_user, user_id, data["password"])
        db.session.commit()
        return user
