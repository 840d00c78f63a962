"""Chinese by default, English on request, through Flask-Babel.

UI strings are written in Chinese in templates and code: the Chinese text is the message id. The English lives
in the catalog `tenant_app/translations/en/LC_MESSAGES/messages.po` (compiled to messages.mo next to it); a
message the catalog does not translate shows in Chinese. The locale comes from `?lang=`, then the `lang`
cookie; anything else is Chinese.

Code that raises or returns a message writes `_l("中文")` (a lazy string): it is rendered in the language of
the request that shows it. API problem bodies carry both languages ("中文 / English", see `both_languages`),
as do messages stored for later (import results), since the reader's language is not known when they are made.
"""

from __future__ import annotations

from flask import has_request_context, request
from flask.json.tag import JSONTag
from flask_babel import Babel, force_locale, gettext, lazy_gettext, lazy_pgettext, ngettext, pgettext
from flask_babel.speaklater import LazyString
from markupsafe import escape

__all__ = ["LOCALES", "N_", "_l", "_ln", "both_languages", "current_locale", "gettext", "lazy_gettext", "level_name",
           "ngettext", "pgettext", "role_name"]

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
BOTH_SEPARATOR = " / "



class LazyText(LazyString):
    """A lazy message that templates escape like any text (flask-babel's lazy strings pass as markup, and
    messages may carry what users typed)."""

    def __html__(self):
        return str(escape(str(self)))


def _l(string: str, **variables) -> LazyText:
    """The message `string` (Chinese), translated when it is shown; `%(name)s` placeholders take `variables`."""
    return LazyText(gettext, string, **variables)


def _ln(singular: str, plural: str, num: int, **variables) -> LazyText:
    """A lazy message whose English has a singular and a plural; `%(num)s` is the count."""
    return LazyText(ngettext, singular, plural, num, **variables)


def N_(text: str) -> str:
    """Marks a Chinese string that is translated later from data (a coded value's label, a field's name), so
    that `pybabel extract` keeps it in the catalog. Returns it unchanged."""
    return text


# Names of the levels and roles in their singular form; the plain Chinese names double as message ids for the
# plural headings ("市" → "Cities") that the unit pages show.
LEVEL_NAMES_ZH = {"province": N_("省"), "city": N_("市"), "county": N_("县(区)"), "township": N_("乡镇(街道)"),
                  "village": N_("村(居)")}
LEVEL_NAMES = {
    "province": lazy_pgettext("level", "省"), "city": lazy_pgettext("level", "市"),
    "county": lazy_pgettext("level", "县(区)"), "township": lazy_pgettext("level", "乡镇(街道)"),
    "village": lazy_pgettext("level", "村(居)"),
}
ROLE_NAMES = {"admin": _l("管理员"), "staff": _l("工作人员"), "viewer": _l("只读"), "reporter": _l("合作报告机构"),
              "department": _l("合作部门")}


def current_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    lang = request.args.get("lang") or request.cookies.get("lang") or DEFAULT_LOCALE
    return lang if lang in LOCALES else DEFAULT_LOCALE


def level_name(level: str) -> str:
    return str(LEVEL_NAMES.get(level, level))


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def both_languages(message):
    """A lazy message as "中文 / English" (just the Chinese when the catalog has no English); anything else,
    containers included, with its lazy messages turned so. For readers whose language is not known."""
    if isinstance(message, LazyString):
        with force_locale(DEFAULT_LOCALE):
            chinese = str(message)
        with force_locale("en"):
            english = str(message)
        return chinese if english == chinese else f"{chinese}{BOTH_SEPARATOR}{english}"
    if isinstance(message, dict):
        return {key: both_languages(value) for key, value in message.items()}
    if isinstance(message, list | tuple):
        return [both_languages(value) for value in message]
    return message


class _LazyTextTag(JSONTag):
    """Session storage (flashed messages) of a lazy message: the plain text in the request's language."""

    key = " lazy"

    def check(self, value) -> bool:
        return isinstance(value, LazyString)

    def tag(self, value):
        return str(value)

    def to_json(self, value):
        return str(value)

    def to_python(self, value):
        return value


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    Babel(app, locale_selector=current_locale)
    serializer = app.session_interface.serializer
    if _LazyTextTag.key not in serializer.tags:
        serializer.register(_LazyTextTag, index=0)
    app.jinja_env.globals.update(level_name=level_name, role_name=role_name, current_locale=current_locale)

    @app.after_request
    def _remember_locale(response):
        lang = request.args.get("lang")
        if lang in LOCALES:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
