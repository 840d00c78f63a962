"""Partner departments (role `department`: education, public security, the assistance office, the disabled
persons' and women's federations of a county, city or province) upload their own rolls and read the results
that concern them, and nothing else: deny by default, checked before any view runs, like partner reporters
(tenant_app.cases.partners). A new page or endpoint is closed to departments until it is added here on purpose.
"""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from tenant_app.errors import Forbidden
from tenant_app.i18n import _l

ALLOWED_ENDPOINTS = frozenset({
    "static", "auth.login", "auth.logout", "account.password_page",
    # Their own rolls: upload, versions, a version's results and progress.
    "links.rolls_page", "links.upload_page", "links.upload_errors", "links.upload_confirm",
    # The API: a token, who I am, my password, and the rolls' endpoints but the grey band's.
    "auth_api.TokenResource", "auth_api.MeResource", "account_api.OwnPassword",
    "rolls_api.UploadsResource", "rolls_api.UploadResource", "rolls_api.UploadErrorsResource",
    "rolls_api.UploadConfirmResource", "rolls_api.UploadResultsResource", "rolls_api.RunResource",
})
NOT_FOR_DEPARTMENTS = _l("合作部门只能上传本部门名册并查看与之相关的匹配结果")


def guard():
    if not current_user.is_authenticated or current_user.role != "department":
        return None
    if request.endpoint == "units.home":
        return redirect(url_for("links.rolls_page"))  # a department's home is its rolls
    if request.endpoint not in ALLOWED_ENDPOINTS:
        raise Forbidden(NOT_FOR_DEPARTMENTS)
    return None


def init_app(app) -> None:
    app.before_request(guard)
