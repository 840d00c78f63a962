"""One place that turns HTTP, validation and domain errors into responses.

API paths get RFC 9457 problem+json bodies (`errors: {field: [messages]}` for validation); pages get a
rendered error page. Unexpected exceptions propagate in TESTING so tests see them.
"""

from __future__ import annotations

import logging

from flask import current_app, json, render_template, request
from werkzeug.exceptions import HTTPException

from hierarchy.scope import ScopeViolation
from tenant_app.i18n import _l, both_languages

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Headers of an HTTP error that a client needs (405 says which methods are allowed).
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: dict | None = None, headers=None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem_response(status: int, title: str, detail: str | None = None, errors: dict | None = None,
                     headers=None, **extra):
    # API clients do not choose a language: messages go out in both ("中文 / English").
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = both_languages(detail)
    if errors:
        body["errors"] = both_languages(errors)
    body.update(both_languages(extra))
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten_webargs_messages(messages) -> dict:
    """webargs nests messages by location ({"json": {"field": [...]}}) and by nested field or list index; the API
    reports one flat list of messages per field path ("questions", "guardian.name")."""
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, msgs in fields.items():
                _flatten_into(flat, str(field), msgs)
        else:
            _flatten_into(flat, str(location), fields)
    return flat


def _flatten_into(flat: dict, path: str, messages) -> None:
    if isinstance(messages, dict):
        for key, inner in messages.items():
            # A list's item index stays with the list's field (the form shows one message list per field);
            # a nested field's name extends the path.
            _flatten_into(flat, path if isinstance(key, int) or str(key).isdigit() else f"{path}.{key}", inner)
    elif isinstance(messages, list | tuple):
        for inner in messages:
            _flatten_into(flat, path, inner)
    else:
        flat.setdefault(path, []).append(messages)


def _render_page_error(status: int, title: str, detail: str | None, headers=None, errors: dict | None = None):
    if errors:
        # Pages have no field to put the message next to when the request is refused before the view.
        detail = "; ".join([str(detail or title)] + [f"{field}: {' '.join(map(str, msgs))}"
                                                for field, msgs in errors.items()])
    return render_template("error.html", status=status, title=title, detail=detail), status, headers or {}


def _kept_headers(error: HTTPException) -> dict:
    return {key: value for key, value in error.get_headers() if key in _KEPT_HEADERS}


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = flatten_webargs_messages(data["messages"]) if "messages" in data else None
    detail = data.get("message") or error.description
    if status == 422 and errors:
        detail = _l("请求数据有误")
    headers = {**_kept_headers(error), **(data.get("headers") or {})}
    if wants_problem_json():
        return problem_response(status, error.name, detail, errors, headers=headers)
    return _render_page_error(status, error.name, detail, headers)


def handle_domain_error(error: DomainError):
    if wants_problem_json():
        return problem_response(error.status, error.title, error.detail, error.errors, error.headers,
                                **error.extra)
    return _render_page_error(error.status, error.title, error.detail, error.headers, error.errors)


def handle_scope_violation(error: ScopeViolation):
    # Outside the caller's subtree is indistinguishable from absent.
    if wants_problem_json():
        return problem_response(404, "Not found", _l("未找到"))
    return _render_page_error(404, "Not found", None)


def register_error_handlers(app) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(ScopeViolation, handle_scope_violation)

    if not app.testing:
        @app.errorhandler(Exception)
        def _unexpected(error):  # pragma: no cover - exercised in production only
            if isinstance(error, HTTPException):
                return handle_http_exception(error)
            log.exception("unhandled error on %s %s", request.method, request.path)
            if wants_problem_json():
                return problem_response(500, "Internal server error")
            return _render_page_error(500, "Internal server error", None)
