"""Coded values of reports and cases (short English codes; Chinese labels for pages and documents)."""

from __future__ import annotations

# What happened: the categories of the mandatory-reporting rules.
CATEGORIES = {
    "living_alone": "脱离监护单独居住",
    "missing": "失踪",
    "guardian_failing": "监护人丧失监护能力或不履行监护责任",
    "domestic_violence": "疑似遭受家庭暴力",
    "injury_or_harm": "疑似遭受意外伤害或不法侵害",
    "sexual_harm": "疑似遭受性侵害",
    "abandonment": "遭受遗弃",
    "abduction_or_begging": "疑似被拐卖或被胁迫乞讨",
}
URGENCIES = {"emergency": "紧急", "normal": "一般"}
REPORTER_KINDS = {
    "staff": "工作人员", "hotline": "热线", "school": "学校", "kindergarten": "幼儿园", "clinic": "医疗机构",
    "social_work": "社会工作服务机构", "police": "公安派出所", "other": "其他",
}
STAGES = {
    "reported": "已报告", "accepted": "已受理", "screened_out": "不予受理", "emergency": "应急处置",
    "assessment": "评估", "help_plan": "帮扶", "follow_up": "跟踪回访", "closed": "已结案",
}
OPEN_STAGES = ("reported", "accepted", "emergency", "assessment", "help_plan", "follow_up")
# The stages the clock runs in after acceptance (before the help plan is made).
CLOCKED_STAGES = ("accepted", "emergency", "assessment")
# The stages where, once the help plan is made, follow-up visits are due by the risk level.
FOLLOW_UP_STAGES = ("help_plan", "follow_up")
# /advance moves one step forward only; accept, screen-out, close and reopen have their own endpoints.
ADVANCES = {
    "accepted": ("emergency", "assessment"),
    "emergency": ("assessment",),
    "assessment": ("help_plan",),
    "help_plan": ("follow_up",),
}
ADVANCE_TARGETS = ("emergency", "assessment", "help_plan", "follow_up")
# Reopening: a closed case is assessed again; a screened-out report is screened again.
REOPEN_TO = {"closed": "assessment", "screened_out": "reported"}

# The clock's steps: what must happen next, with its time limit.
STEPS = {"accept": "受理", "first_measure": "首次应急处置", "assessment": "评估", "help_plan": "制定帮扶计划",
         "follow_up_visit": "跟踪回访"}

EMERGENCY_KINDS = ("police_notified", "parents_ordered_back", "guardian_appointed", "temporary_placement",
                   "missing_search_handed_to_police", "medical_care")
ACTION_KINDS = {
    "police_notified": "已报告公安机关",
    "parents_ordered_back": "责令父母返回履职",
    "guardian_appointed": "委托监护人已落实",
    "temporary_placement": "临时安置",
    "missing_search_handed_to_police": "失踪儿童查找移交公安",
    "medical_care": "医疗救治",
    "assessment": "评估",
    "help_service": "帮扶服务",
    "guardianship_intervention": "监护干预",
    "follow_up_visit": "跟踪回访",
    "note": "备注",
}
# Entries the system writes for the steps of the workflow (never posted as actions).
STAGE_ENTRY = "stage_change"
FILED_ENTRY = "filed"

# Which actions each stage accepts.
STAGE_ACTIONS = {
    "reported": ("note", "police_notified", "missing_search_handed_to_police"),
    "accepted": ("note", *EMERGENCY_KINDS),
    "emergency": ("note", *EMERGENCY_KINDS),
    "assessment": ("note", *EMERGENCY_KINDS, "assessment", "guardianship_intervention"),
    "help_plan": ("note", *EMERGENCY_KINDS, "assessment", "help_service", "guardianship_intervention"),
    "follow_up": ("note", *EMERGENCY_KINDS, "assessment", "help_service", "guardianship_intervention",
                  "follow_up_visit"),
    "screened_out": (),
    "closed": (),
}
# Actions that write to the child's record (through the children service, which staff edit).
CHILD_RECORD_KINDS = ("guardian_appointed", "assessment")
# What the township and the village of the child may record (the county records everything).
LOCAL_ACTIONS = ("assessment", "help_service", "follow_up_visit", "note")

PLACEMENT_KINDS = {"relatives": "亲属家庭", "village_committee": "村（居）民委员会",
                   "rescue_institution": "未成年人救助保护机构", "welfare_institution": "儿童福利机构"}
HELP_SERVICES = {
    "guardianship_guidance": "监护指导", "medical_treatment": "医疗救治", "counselling": "心理疏导",
    "behaviour_correction": "行为矫治", "legal_services": "法律服务", "legal_aid": "法律援助",
    "dibao": "低保", "temporary_assistance": "临时救助", "tekun": "特困供养",
    "de_facto_unsupported": "事实无人抚养儿童保障", "back_to_school": "返校复学",
    "household_registration": "户籍登记",
}
INTERVENTION_MEASURES = {"admonition": "训诫、责令改正", "court_revocation": "申请撤销监护人资格"}
ASSESSMENT_RATINGS = {"good": "好", "fair": "一般", "poor": "差"}
RISK_LEVELS = {"low": "低", "medium": "中", "high": "高"}
OUTCOMES = {"risk_removed": "风险已消除", "placed": "已妥善安置", "guardianship_changed": "监护关系已变更",
            "referred": "已移交有关部门", "other": "其他"}


def sql_in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)
