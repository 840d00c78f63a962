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


# Worklists (核查清单): the discrepancies the rolls reveal, per village (tenant_app.links.worklists).
LIST_KINDS = {
    "dropout": _l("疑似辍学"),
    "unregistered": _l("疑似未建档留守儿童"),
    "no_hukou": _l("无户籍登记"),
    "assistance": _l("应纳未纳救助"),
    "mismatch": _l("信息与户籍不符"),
}
ITEM_STATUSES = {"open": _l("待核查"), "in_task": _l("核查中"), "answered": _l("已核查")}
ANSWERS = {"confirmed": _l("情况属实"), "corrected": _l("已更正"), "added": _l("已补录建档"),
           "not_found": _l("查无此人")}
# The answers each list takes, and what each does to the records (tenant_app.links.verification).
LIST_ANSWERS = {
    "dropout": ("confirmed", "corrected", "not_found"),
    "unregistered": ("confirmed", "added", "not_found"),
    "no_hukou": ("confirmed", "corrected", "not_found"),
    "assistance": ("confirmed", "corrected", "not_found"),
    "mismatch": ("confirmed", "corrected", "not_found"),
}
# Why an item is on its list.
REASONS = {
    "not_on_roll": _l("不在任何学籍名册中"), "dropped_out": _l("学籍状态为辍学"), "suspended": _l("学籍状态为休学"),
    "transferred": _l("学籍状态为转出"),
    "both_away": _l("父母均外出"), "one_away_other_unable": _l("一方外出、另一方无监护能力"),
    "recorded_unregistered": _l("档案登记为未落户"), "not_on_register": _l("不在户籍信息中"),
    "dibao": _l("应纳入低保或特困"), "tekun": _l("应纳入特困供养"),
    "de_facto_unsupported": _l("应领取事实无人抚养儿童补贴"), "any": _l("应纳入社会救助"),
    "name": _l("姓名不符"), "birth_date": _l("出生日期不符"), "sex": _l("性别不符"),
}
# A child's expected benefit (the reason of an assistance item) and the roster benefits that satisfy it.
QUALIFYING = {
    "de_facto_unsupported": ("de_facto_unsupported",),
    "tekun": ("tekun", "de_facto_unsupported"),
    "dibao": ("dibao", "tekun"),
    "any": tuple(BENEFITS),
}
# The benefit written to the record's assistance list when an enrolment is reported (children enums).
RECORD_BENEFIT = {"dibao": "dibao", "tekun": "tekun", "temporary": "temporary", "de_facto_unsupported": "other",
                  "any": "dibao"}
IN_SCHOOL = ("primary", "junior", "senior", "vocational")
# The campaign template of a worklist turned into verification tasks.
VERIFICATION_TEMPLATE = "verification"
