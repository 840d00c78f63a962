"""Log in and out with a form (session cookie), and the template helpers every page layout uses."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from tenant_app import clock
from tenant_app.auth import throttle
from tenant_app.auth.services import authenticate
from tenant_app.db import db
from tenant_app.errors import RateLimited, Unauthorized
from tenant_app.i18n import LOCALES, current_locale

bp = Blueprint("auth", __name__, template_folder="templates")

# Chinese titles for error pages; the English title comes from the error itself.
ERROR_TITLES_ZH = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持的请求方法",
    409: "操作冲突",
    413: "上传内容过大",
    422: "数据有误",
    429: "请求过多，请稍后再试",
    500: "服务器内部错误",
}


def is_safe_next(target: str | None) -> bool:
    """Only a relative path on this site: no scheme, no host, no protocol-relative `//` or `/\\`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def pick_language(text: str | None) -> str:
    """Texts stored in both languages ("中文 / English": a task's timeline notes, import results) show the half
    that matches the locale; a lazy message shows in the locale as it is."""
    if not text:
        return ""
    zh, sep, en = str(text).partition(" / ")
    if not sep:
        return str(text)
    return en if current_locale() == "en" else zh


def url_with(**changes) -> str:
    """The current page with some query arguments replaced (others kept)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    args.extend((k, str(v)) for k, v in changes.items() if v is not None)
    return f"{request.path}?{urlencode(args)}" if args else request.path


def lang_url(lang: str) -> str:
    """The current page in another language."""
    return url_with(lang=lang if lang in LOCALES else "zh")


def error_title(status: int, title: str | None) -> str:
    if current_locale() == "en":
        return title or "Error"
    return ERROR_TITLES_ZH.get(status, "错误")


@bp.app_template_filter("pick")
def _pick_filter(text):
    return pick_language(text)


@bp.record_once
def _layout_helpers(state):
    # Globals, not a context processor: macros imported without `with context` (the pager) see them too.
    state.app.jinja_env.globals.update(lang_url=lang_url, url_with=url_with, error_title=error_title)
    # Every time shown to a person is China Standard Time: `{{ moment|cst }}`.
    state.app.jinja_env.filters["cst"] = clock.cst_text


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = request.values.get("next") or ""
    if not is_safe_next(next_url):
        next_url = ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("units.home"))

    username = ""
    error = None
    status = 200
    headers = {}
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        device = throttle.read_device(request.cookies)
        try:
            user = authenticate(db.session, username, password, request.remote_addr, device)
        except RateLimited as exc:
            error, status, headers = exc.detail, 429, exc.headers
        except Unauthorized as exc:
            error = exc.detail
        else:
            session.clear()  # a fresh session (and CSRF token) for the new identity
            login_user(user)
            db.session.commit()
            response = redirect(next_url or url_for("units.home"))
            throttle.remember_device(response, device, user.id)
            return response
    body = render_template("auth/login.html", username=username, error=error, next_url=next_url)
    return body, status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
