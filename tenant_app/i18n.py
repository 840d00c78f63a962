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
    app.jinja_env.globals.update(_=gettext, level_name=level_name, role_name=role_name,
                                 current_locale=current_locale)

    @app.after_request
    def _remember_locale(response):
        lang = request.args.get("lang")
        if lang in LOCALES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
