"""My own password over the API."""

from __future__ import annotations

import hashlib

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from tenant_app.account.services import change_own_password
from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("account_api", __name__, description="My account")


class OwnPasswordSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class PasswordChangedSchema(Schema):
    changed = fields.Boolean()
    must_change_password = fields.Boolean()


def _bearer_hash() -> str | None:
    header = request.headers.get("Authorization", "")
    return hashlib.sha256(header[7:].strip().encode()).hexdigest() if header.lower().startswith("bearer ") else None


@blp.route("/me/password", endpoint="OwnPassword")
class OwnPasswordResource(MethodView):
    @api_login_required
    @blp.arguments(OwnPasswordSchema)
    @blp.response(200, PasswordChangedSchema)
    def post(self, data):
        """Change my own password (current password required). The token used stays valid; others are revoked."""
        user = current_actor()
        change_own_password(db.session, user, data["current_password"], data["new_password"],
                            keep_token_hash=_bearer_hash())
        db.session.commit()
        return {"changed": True, "must_change_password": False}
