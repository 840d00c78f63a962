"""Chinese by default, English on request.

UI strings are written in Chinese in templates and code and looked up here for English. The locale comes
from `?lang=`, then the `lang` cookie; anything else is Chinese.
"""

from __future__ import annotations

from flask import g, request

LOCALES = ("zh", "en")

LEVEL_NAMES = {
    "zh": {"province": "省", "city": "市", "county": "县(区)", "township": "乡镇(街道)", "village": "村(居)"},
    "en": {"province": "Province", "city": "City", "county": "County", "township": "Township",
           "village": "Village"},
}
ROLE_NAMES = {
    "zh": {"admin": "管理员", "staff": "工作人员", "viewer": "只读"},
    "en": {"admin": "Administrator", "staff": "Staff", "viewer": "Viewer"},
}

EN: dict[str, str] = {
    "守护": "Shouhu",
    "农村留守儿童关爱保护": "Care and protection of rural left-behind children",
    "登录": "Log in",
    "退出": "Log out",
    "菜单": "Menu",
    "用户名": "Username",
    "密码": "Password",
    "用户名或密码错误": "Wrong username or password",
    "登录失败次数过多，请稍后再试": "Too many failed logins; try again later",
    "首页": "Home",
    "用户管理": "Users",
    "本单位": "My unit",
    "下级单位": "Units below",
    "上级单位": "Units above",
    "代码": "Code",
    "名称": "Name",
    "层级": "Level",
    "已撤销": "Retired",
    "下级数量": "Units below",
    "没有下级单位": "No units below",
    "返回上级": "Up one level",
    "姓名": "Real name",
    "电话": "Phone",
    "角色": "Role",
    "单位": "Unit",
    "所属单位代码": "Unit code",
    "状态": "Status",
    "启用": "Active",
    "停用": "Disabled",
    "操作": "Actions",
    "新建用户": "New user",
    "保存": "Save",
    "停用此用户": "Disable",
    "启用此用户": "Enable",
    "筛选": "Filter",
    "重置密码": "Reset password",
    "新密码": "New password",
    "已创建用户": "User created",
    "已停用用户": "User disabled",
    "密码已重置": "Password reset",
    "联系人": "Contacts",
    "上一页": "Previous",
    "下一页": "Next",
    "共": "Total",
    "语言": "Language",
    "错误": "Error",
    "返回首页": "Back to home",
    "请先登录": "Please log in",
    "此项必填": "This field is required",
    "市": "Cities",
    "县(区)": "Counties",
    "乡镇(街道)": "Townships",
    "村(居)": "Villages",
    "登录后可查看本单位及下级单位": "Log in to see your unit and the units below it",
}

# Child record pages (tenant_app/children/views.py and its templates): labels, sections, coded values.
EN.update({
    "导出Excel": "Export to Excel", "Excel导入": "Import from Excel",
    # visits
    "走访记录": "Visits", "登记走访": "Record a visit", "走访日期": "Visit date", "走访人": "Visitor",
    "见到的人": "Who was met", "走访情况": "Findings", "后续措施": "Follow-up",
    "不变": "Unchanged", "暂无走访记录": "No visits yet",
    "应走访儿童": "Visits due", "已逾期": "Overdue", "上次走访": "Last visit",
    "逾期天数": "Days overdue", "从未走访": "Never visited", "没有应走访的儿童": "No visits due",
    "儿童本人": "Child", "父亲": "Father", "母亲": "Mother", "受托监护人": "Entrusted guardian",
    "儿童档案": "Child records", "新建儿童档案": "New child record", "修改儿童档案": "Edit child record",
    "无人监护儿童": "Unattended children", "无人监护": "Unattended", "修改": "Edit", "修改记录": "Change history",
    "暂无修改记录": "No changes yet", "新建": "Created", "迁移": "Transferred", "版本": "Version",
    "返回档案": "Back to the record", "载入最新档案": "Load the latest record", "请选择": "Choose…",
    "档案未保存，请更正标出的项目": "The record was not saved; correct the marked fields",
    "系统判定为无人监护（父母均外出且无受托监护人）":
        "Derived as unattended (parents away and no entrusted guardian)",
    "没有符合条件的儿童档案": "No child records match", "全部": "All", "是": "Yes", "否": "No",
    "儿童类别": "Category", "基本信息": "Identity", "户籍与住址": "Household registration and address",
    "健康状况": "Health", "就学情况": "Schooling", "父母情况": "Parents", "监护情况": "Guardianship",
    "家庭收入来源": "Family income", "救助帮扶": "Assistance", "儿童类别与风险": "Category and risk",
    "档案状态": "Record status", "填报信息": "Form details",
    "性别": "Sex", "民族": "Ethnicity", "出生日期": "Birth date", "身份证号": "ID number",
    "已登记户口": "Household registered (hukou)", "农村户籍": "Rural hukou", "户籍地": "Hukou place",
    "现住址": "Current address", "残疾类别": "Disability type", "残疾等级": "Disability grade",
    "就学状态": "Schooling", "学校名称": "School", "寄宿": "Boards at school",
    "父亲姓名": "Father's name", "父亲出生日期": "Father's birth date", "父亲身份证号": "Father's ID number",
    "父亲状况": "Father's situation", "父亲务工省份": "Father's work province", "父亲务工城市": "Father's work city",
    "父亲联系电话": "Father's phone", "母亲姓名": "Mother's name", "母亲出生日期": "Mother's birth date",
    "母亲身份证号": "Mother's ID number", "母亲状况": "Mother's situation", "母亲务工省份": "Mother's work province",
    "母亲务工城市": "Mother's work city", "母亲联系电话": "Mother's phone",
    "受托监护人姓名": "Entrusted guardian's name", "与儿童关系": "Relationship to the child",
    "受托监护人电话": "Guardian's phone", "受托监护人身份证号": "Guardian's ID number",
    "受托监护人住址": "Guardian's address", "监护类型": "Guardianship type", "监护评估": "Guardianship assessment",
    "收入来源": "Income sources", "已享受救助": "Assistance received", "留守儿童": "Left-behind child",
    "困境儿童": "Child in difficulty", "困境类别": "Difficulty category",
    "事实无人抚养儿童": "De-facto unsupported child", "风险等级": "Risk level", "退出原因": "Exit reason",
    "退出日期": "Exit date", "填表人": "Form filled by", "审核人": "Reviewed by", "填报日期": "Report date",
    "男": "Male", "女": "Female", "健康": "Healthy", "残疾": "Disabled", "重病": "Serious illness",
    "慢性病": "Chronic illness", "在园": "In kindergarten", "未入园": "Not in kindergarten", "小学": "Primary",
    "初中": "Junior secondary", "高中": "Senior secondary", "中职": "Vocational", "辍学": "Dropped out",
    "不在学": "Not in school", "在家": "At home", "外出务工": "Away for work", "无监护能力": "Unable to care",
    "已故": "Deceased", "失联": "Missing", "父母无监护能力": "Parents unable to care",
    "受托监护人无监护能力": "Entrusted guardian unable to care", "一般": "Fair", "较好": "Good", "好": "Good",
    "差": "Poor", "务工": "Migrant work", "务农": "Farming", "政府救助": "Government aid",
    "亲友资助": "Relatives' support", "其他": "Other", "低保": "Minimum living allowance (dibao)",
    "临时救助": "Temporary assistance", "医疗救助": "Medical assistance", "住房救助": "Housing assistance",
    "特困供养": "Extreme-poverty support (tekun)", "建档立卡": "Registered poor household", "孤儿": "Orphan",
    "事实无人抚养": "De-facto unsupported", "贫困家庭": "Poor family", "重病重残": "Serious illness or disability",
    "低": "Low", "中": "Medium", "高": "High", "在册": "Active", "已退出": "Exited",
    "年满16周岁": "Turned 16", "父母返乡": "Parents returned", "迁出": "Moved away", "死亡": "Deceased",
    "一级": "Grade 1", "二级": "Grade 2", "三级": "Grade 3", "四级": "Grade 4",
    "走访": "Visits", "走访已逾期": "Visit overdue", "7天内应走访": "Visit due within 7 days",
    "应走访日期": "Visit due on",
    "按走访筛选时只看在册儿童，按应走访日期排序，不用其他条件":
        "With a visit filter the list shows active children by due date; the other filters do not apply",
})

# Child record import and export (tenant_app/children/import_views.py and its templates).
EN.update({
    "导入导出": "Import and export", "从Excel导入": "Import from Excel", "下载导入模板": "Download the template",
    "先下载模板，按模板填写后上传。系统先试运行校验，不写入任何数据；确认后才导入有效行。":
        "Download the template, fill it in and upload it. A dry run checks every row and writes nothing; "
        "the valid rows are imported only after you confirm.",
    "选择文件": "Choose a file", "上传并试运行": "Upload and dry run", "导出为Excel": "Export to Excel",
    "类别": "Category", "导出完整身份证号（将记录审计日志）": "Export full ID numbers (audited)", "导出": "Export",
    "导入进度": "Import progress", "已上传": "Uploaded", "校验中": "Checking", "校验完成": "Checked",
    "导入中": "Importing", "已导入": "Imported", "失败": "Failed", "进度": "Progress", "行": "rows",
    "有效行": "Valid rows", "下载错误清单": "Download the error sheet", "行号": "Row", "列": "Column",
    "错误说明": "Error", "确认导入 {n} 条有效记录": "Import the {n} valid records",
    "返回导入导出": "Back to import and export", "筛选条件无效": "Invalid filter",
    "村(居)代码": "Village code", "是否登记户口": "Household registered", "是否农村户籍": "Rural registration",
    "是否寄宿": "Boards at school", "就学状况": "Schooling", "父亲电话": "Father's phone",
    "母亲电话": "Mother's phone", "享受救助": "Assistance received",
})


# Features keep their own English strings in `<feature>/i18n_en.py` (a dict named EN).
FEATURE_CATALOGS = ("tenant_app.campaigns.i18n_en", "tenant_app.tasks.i18n_en", "tenant_app.stats.i18n_en",
                    "tenant_app.account.i18n_en", "tenant_app.notifications.i18n_en", "tenant_app.children.i18n_en",
                    "tenant_app.transfers.i18n_en")


def _load_feature_catalogs() -> None:
    import importlib

    for name in FEATURE_CATALOGS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        EN.update(module.EN)


def current_locale() -> str:
    if "locale" in g:
        return g.locale
    lang = request.args.get("lang") or request.cookies.get("lang") or "zh"
    g.locale = lang if lang in LOCALES else "zh"
    return g.locale


def gettext(text: str, **kwargs) -> str:
    translated = EN.get(text, text) if current_locale() == "en" else text
    return translated.format(**kwargs) if kwargs else translated


def level_name(level: str) -> str:
    return LEVEL_NAMES[current_locale()].get(level, level)


def role_name(role: str) -> str:
    return ROLE_NAMES[current_locale()].get(role, role)


def init_app(app) -> None:
    _load_feature_catalogs()
    app.jinja_env.globals.update(_=gettext, level_name=level_name, role_name=role_name,
                                 current_locale=current_locale)

    @app.after_request
    def _remember_locale(response):
        lang = request.args.get("lang")
        if lang in LOCALES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
