from flask import request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from tenant_app.auth import throttle
from tenant_app.auth.schemas import MeSchema, TokenRequestSchema, TokenSchema
from tenant_app.auth.services import authenticate, issue_token
from tenant_app.db import db
from tenant_app.security import api_login_required

blp = Blueprint("auth_api", __name__, description="Authentication")


@blp.route("/auth/token")
class TokenResource(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Exchange a username and password for a bearer token."""
        session = db.session
        user = authenticate(session, data["username"], data["password"], request.remote_addr,
                            throttle.read_device(request.cookies))
        token, expires_at = issue_token(session, user)
        session.commit()
        return {"token": token, "expires_at": expires_at}


@blp.route("/me")
class MeResource(MethodView):
    @api_login_required
    @blp.response(200, MeSchema)
    def get(self):
        """The caller: username, role and unit."""
        return current_user
