"""Flask extensions, created unbound here and bound in the app factory."""

from __future__ import annotations

import http

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from flask_smorest.utils import prepare_response
from flask_wtf.csrf import CSRFProtect
from marshmallow import INCLUDE, Schema, fields
from webargs.flaskparser import FlaskParser

from tenant_app.db import db  # noqa: F401  (re-exported: one place for extensions)
from tenant_app.errors import PROBLEM_JSON, handle_http_exception


class SchemaOnceParser(FlaskParser):
    """webargs' Flask parser, except that an argument schema given as a class (`@blp.arguments(SomeArgs)`) is
    instantiated once and then reused, not on every request (a schema's construction binds all its fields
    again: a few hundred Python calls per request). Loading does not change a schema instance."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._instances: dict[type, Schema] = {}

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._instances.get(argmap)
            if schema is None:
                schema = self._instances.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


# Before any blueprint declares its arguments (the decorators bind the parser): every flask-smorest Blueprint.
ArgumentsMixin.ARGUMENTS_PARSER = SchemaOnceParser()


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every API error is sent (see tenant_app.errors)."""

    class Meta:
        unknown = INCLUDE  # some problems carry extra members (e.g. current_version on a 409)

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Invalid input: messages per field"})


class ShouhuApi(Api):
    """flask-smorest Api whose errors are problem+json like every other error, and documented as such."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def _register_responses(self):
        # As flask-smorest's, with the content type the errors are actually sent with.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


login_manager = LoginManager()
csrf = CSRFProtect()
api = ShouhuApi()
# Storage: RATELIMIT_STORAGE_URI, SHOUHU_REDIS_URL when set, memory otherwise (tenant_app.create_app).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
