"""Access decorators shared by the API and the pages."""

from __future__ import annotations

from functools import wraps

from flask_login import current_user

from tenant_app.errors import Forbidden, Unauthorized
from tenant_app.i18n import _l


def api_login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthorized(_l("需要登录令牌"),
                               headers={"WWW-Authenticate": "Bearer"})
        return view(*args, **kwargs)

    return wrapper


def role_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthorized(_l("需要登录"), headers={"WWW-Authenticate": "Bearer"})
            if current_user.role not in roles:
                raise Forbidden(_l("权限不足"))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_actor():
    """The signed-in user as a plain object, to hand to the services."""
    return current_user._get_current_object()
