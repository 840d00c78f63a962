"""Partner reporters (role `reporter`: schools, kindergartens, clinics, social-work organisations, police
stations) file reports and follow their own reports' status, and nothing else.

Their unit is a township or a county, whose subtree the tenancy rule would let them read; so the rule for them
is deny by default, checked before any view runs: an endpoint not listed here answers 403, whatever its own
checks are. A new page or endpoint is closed to partners until it is added here on purpose.
"""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from tenant_app.errors import Forbidden
from tenant_app.i18n import _l

ALLOWED_ENDPOINTS = frozenset({
    "static", "auth.login", "auth.logout", "account.password_page",
    # Filing a report and following one's own reports; the village picker (unit codes and names, public).
    "cases.report_page", "cases.reports_page", "unit_picker.units",
    # The API: a token, who I am, my password, filing and listing my own reports.
    "auth_api.TokenResource", "auth_api.MeResource", "account_api.OwnPassword", "cases_api.ReportsResource",
})
NOT_FOR_PARTNERS = _l("合作报告机构只能提交报告并查看本机构报告的办理状态")


def guard():
    if not current_user.is_authenticated or current_user.role != "reporter":
        return None
    if request.endpoint == "units.home":
        return redirect(url_for("cases.reports_page"))  # a partner's home is its reports
    if request.endpoint not in ALLOWED_ENDPOINTS:
        raise Forbidden(NOT_FOR_PARTNERS)
    return None


def init_app(app) -> None:
    app.before_request(guard)
