"""The Shouhu web application."""

from __future__ import annotations

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from hierarchy.scope import NO_SCOPE, reset_scope, set_scope
from tenant_app import headers, i18n, input_guard, read_cache
from tenant_app.config import from_environment
from tenant_app.errors import register_error_handlers
from tenant_app.extensions import api, csrf, db, limiter, login_manager


class ShouhuFlask(Flask):
    """Flask, remembering which view and hook functions are plain functions: `ensure_sync` (the documented place
    to change how views run) asked `inspect` again for each of them on every request, a dozen times a request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: set = set()

    def ensure_sync(self, func):
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # an unhashable callable: as Flask does
            return super().ensure_sync(func)
        result = super().ensure_sync(func)
        if result is func:
            self._plain_functions.add(func)
        return result


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer kept while the keys stay the same instead of
    built anew on every request (two of them per request, API requests included)."""

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("shouhu_session_serializer")
        if cached is not None and cached[0] == keys:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        app.extensions["shouhu_session_serializer"] = (keys, serializer)
        return serializer


def create_app(config: dict | None = None) -> Flask:
    app = ShouhuFlask(__name__, instance_relative_config=False)
    app.session_interface = _CookieSessions()
    # JSON answers in UTF-8 with their keys in the order they were built, as Flask's documentation suggests for
    # speed: sorting every object's keys and escaping every Chinese character was most of the encoding's time
    # (a province's dashboard is some 80 KB), and the escapes tripled the size of Chinese text.
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.config.update(from_environment())
    if config:
        app.config.update(config)

    # Login throttling counts in Redis when there is one, so that every worker process shares the counts.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("SHOUHU_REDIS_URL") or "memory://")
    db.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # Identity first, so every later hook (CSRF included) and its error pages run with the caller's scope.
    _install_identity(app)
    # Right after identity: partner reporters reach only the few endpoints listed for them.
    from tenant_app.cases import partners

    partners.init_app(app)
    from tenant_app.links import departments

    departments.init_app(app)  # partner departments likewise
    # Before the blueprints: URL rules bind the bounded id converter when they are added.
    input_guard.init_app(app)
    headers.init_app(app)
    read_cache.init_app(app)
    csrf.init_app(app)
    api.init_app(app)
    i18n.init_app(app)
    register_error_handlers(app)
    _register_blueprints(app)

    from tenant_app import cli

    cli.register(app)
    _drop_idle_limiter_hooks(app)
    return app


def _limits_declared() -> bool:
    manager = limiter.limit_manager
    return bool(manager.application_limits or manager.default_limits or manager._decorated_limits
                or manager._blueprint_limits or limiter._meta_limits)


def _drop_idle_limiter_hooks(app: Flask) -> None:
    """Flask-Limiter checks every request against the limits declared on routes, blueprints and as defaults,
    and tidies up after it, in three hooks of its own. No limit is declared here (logins are throttled by
    tenant_app.auth.throttle on the limiter's storage, which stays configured): the hooks had nothing to check
    and cost every request a few hundred Python calls. They stay when a limit is declared."""
    if _limits_declared():
        return
    check = limiter._check_request_limit
    release = getattr(limiter, "_Limiter__release_context", None)
    app.before_request_funcs[None] = [f for f in app.before_request_funcs.get(None, []) if f != check]
    app.after_request_funcs[None] = [
        f for f in app.after_request_funcs.get(None, [])
        if not (getattr(f, "func", None) is getattr(type(limiter), "_Limiter__inject_headers", object())
                and getattr(f, "args", ()) == (limiter,))]
    app.teardown_request_funcs[None] = [f for f in app.teardown_request_funcs.get(None, []) if f != release]


def _register_blueprints(app: Flask) -> None:
    from tenant_app.account.api import blp as account_api
    from tenant_app.account.views import bp as account_views
    from tenant_app.assessment.api import blp as assessment_api
    from tenant_app.assessment.views import bp as assessment_views
    from tenant_app.auth.api import blp as auth_api
    from tenant_app.auth.views import bp as auth_views
    from tenant_app.campaigns.api import blp as campaigns_api
    from tenant_app.campaigns.views import bp as campaigns_views
    from tenant_app.cases.api import blp as cases_api
    from tenant_app.cases.outcomes_api import blp as outcomes_api
    from tenant_app.cases.outcomes_views import bp as outcomes_views
    from tenant_app.cases.views import bp as cases_views
    from tenant_app.children.api import blp as children_api
    from tenant_app.children.import_api import blp as children_import_api
    from tenant_app.children.import_views import bp as children_import_views
    from tenant_app.children.views import bp as children_views
    from tenant_app.links.api import blp as rolls_api
    from tenant_app.links.views import bp as links_views
    from tenant_app.links.worklist_api import blp as worklists_api
    from tenant_app.notifications.api import blp as notifications_api
    from tenant_app.notifications.views import bp as notifications_views
    from tenant_app.printing.confirmation import bp as confirmation_views
    from tenant_app.printing.views import bp as printing_views
    from tenant_app.stats.api import blp as stats_api
    from tenant_app.stats.views import bp as stats_views
    from tenant_app.tasks.api import blp as tasks_api
    from tenant_app.tasks.views import bp as tasks_views
    from tenant_app.training.api import blp as training_api
    from tenant_app.training.views import bp as training_views
    from tenant_app.transfers.views import bp as transfers_views
    from tenant_app.unit_picker.views import bp as unit_picker_views
    from tenant_app.units.api import blp as units_api
    from tenant_app.units.views import bp as units_views
    from tenant_app.users.api import blp as users_api
    from tenant_app.users.views import bp as users_views
    from tenant_app.visits.api import blp as visits_api
    from tenant_app.visits.views import bp as visits_views
    from tenant_app.workforce.api import blp as roster_api
    from tenant_app.workforce.import_api import blp as roster_import_api
    from tenant_app.workforce.views import bp as roster_views

    for blp in (auth_api, units_api, users_api, children_api, children_import_api, visits_api, tasks_api,
                stats_api, campaigns_api, account_api, notifications_api, cases_api, outcomes_api, roster_api,
                roster_import_api, training_api, rolls_api, worklists_api, assessment_api):
        api.register_blueprint(blp, url_prefix="/api/v1")
        # The API authenticates with bearer tokens only, never cookies, so CSRF does not apply to it.
        csrf.exempt(blp)
    for bp in (auth_views, units_views, users_views, children_views, children_import_views, visits_views,
               stats_views, tasks_views, campaigns_views, account_views, notifications_views, printing_views,
               transfers_views, unit_picker_views, outcomes_views, confirmation_views, cases_views, roster_views,
               training_views, links_views, assessment_views):
        app.register_blueprint(bp)


def _install_identity(app: Flask) -> None:
    from tenant_app.auth.services import load_session_user, load_token_user

    @login_manager.user_loader
    def _load_from_session(session_id: str):
        if request.path.startswith("/api/"):
            return None
        return load_session_user(db.session, session_id)

    @login_manager.request_loader
    def _load_from_bearer(req):
        header = req.headers.get("Authorization", "")
        if not req.path.startswith("/api/") or not header.lower().startswith("bearer "):
            return None
        return load_token_user(db.session, header[7:].strip())

    @app.before_request
    def _scope_request():
        g._scope_token = set_scope(NO_SCOPE)
        if request.endpoint == "static":
            return
        user = current_user._get_current_object()
        if user is not None and user.is_authenticated:
            set_scope(user.scope)  # a partner reporter's is the partner scope, not its unit's (User.scope)
            _ = user.unit  # load the caller's own unit under the caller's scope

    @app.teardown_request
    def _reset_request_scope(exc):
        token = g.pop("_scope_token", None)
        if token is not None:
            reset_scope(token)
