"""Hold a user flagged `must_change_password` on the change page (pages) or at a 403 (API)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from tenant_app.account.services import CHANGE_REQUIRED, CHANGE_REQUIRED_CODE
from tenant_app.errors import Forbidden

# What a held user may still reach: the change itself, logging out, the files pages need, and `GET /me`,
# which tells an API client who it is and that the change is pending (`must_change_password`).
ALLOWED_ENDPOINTS = {"static", "account.password_page", "auth.logout", "auth.login", "account_api.OwnPassword",
                     "auth_api.MeResource"}


def hold_until_changed():
    if request.endpoint in ALLOWED_ENDPOINTS or not current_user.is_authenticated:
        return None
    if not getattr(current_user, "must_change_password", False):
        return None
    if request.path.startswith("/api/"):
        raise Forbidden(CHANGE_REQUIRED, code=CHANGE_REQUIRED_CODE)
    return redirect(url_for("account.password_page"))
