"""Flask extensions, created unbound here and bound in the app factory."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from tenant_app.db import db  # noqa: F401  (re-exported: one place for extensions)
from tenant_app.errors import handle_http_exception


class ShouhuApi(Api):
    """flask-smorest Api whose errors are problem+json like every other error."""

    def handle_http_exception(self, error):
        return handle_http_exception(error)


login_manager = LoginManager()
csrf = CSRFProtect()
api = ShouhuApi()
# Storage: RATELIMIT_STORAGE_URI, SHOUHU_REDIS_URL when set, memory otherwise (tenant_app.create_app).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
