"""Coded values of the horizontal links (横向互联): partner departments, roll kinds, statuses, thresholds."""

from __future__ import annotations

from tenant_app.i18n import _l

# Partner departments of a county, city or province (role `department`). Distinct from the partner reporters'
# kinds (tenant_app.auth.models.PARTNER_KINDS): the database tells them apart by kind as well as by role.
DEPT_KINDS = {
    "education": _l("教育部门"),
    "public_security": _l("公安部门"),
    "civil_assistance": _l("民政救助部门"),
    "disabled_fed": _l("残联"),
    "women_fed": _l("妇联"),
}
ROLL_KINDS = {
    "school": _l("学籍名册"),
    "household": _l("户籍信息"),
    "assistance": _l("救助名册"),
    "disability": _l("残疾人名册"),
}
# Which rolls each department keeps.
DEPT_ROLLS = {
    "education": ("school",),
    "public_security": ("household",),
    "civil_assistance": ("assistance",),
    "disabled_fed": ("disability",),
    "women_fed": ("assistance",),
}
SCHOOL_STATUSES = {"enrolled": _l("在校"), "suspended": _l("休学"), "dropped_out": _l("辍学"),
                   "transferred": _l("转出")}
BENEFITS = {"dibao": _l("低保"), "tekun": _l("特困"), "temporary": _l("临时救助"),
            "de_facto_unsupported": _l("事实无人抚养")}
UPLOAD_STATUSES = {"checked": _l("已校验"), "invalid": _l("有错误"), "confirmed": _l("已确认")}
RUN_STATUSES = {"queued": _l("排队中"), "running": _l("匹配中"), "done": _l("已完成"), "failed": _l("失败")}
MATCH_STATUSES = {"linked": _l("已自动关联"), "grey": _l("待人工确认"), "confirmed": _l("已确认"),
                  "rejected": _l("已否决")}
METHODS = {"id_number": _l("身份证号"), "fuzzy": _l("姓名+出生日期+性别")}

# Scores 0..100: at or above LINK_AT a match is linked by itself; from GREY_AT to below LINK_AT it waits for a
# county's staff to confirm or reject; below GREY_AT it is no match.
LINK_AT = 90
GREY_AT = 65


def sql_in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)
