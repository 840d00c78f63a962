"""Translations: English comes from the message catalog, a message it lacks shows in Chinese, the committed
catalog is compiled and complete, and API problems carry both languages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tenant_app import create_app
from tenant_app.i18n import _l, _ln, both_languages, level_name, role_name

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "tenant_app" / "translations" / "en" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None, "_l": None,
            "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2), "_ln": (1, 2)}


def _po():
    with open(CATALOG / "messages.po", "rb") as fh:
        return read_po(fh, locale="en")


def _plain(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _translations(catalog) -> dict:
    return {(m.context, _plain(m.id)): _plain(m.string) for m in catalog if m.id and m.string}


def test_committed_mo_is_compiled_from_the_po():
    """`pybabel compile -d tenant_app/translations` was run after the last change of messages.po."""
    with open(CATALOG / "messages.mo", "rb") as fh:
        compiled = read_mo(fh)
    assert _translations(compiled) == _translations(_po())


def test_every_message_in_the_sources_has_its_english():
    """What `pybabel extract` finds (babel.cfg) is in messages.po with an English translation, so no page shows
    a message that was never translated (run the extract/update steps of the README, then translate)."""
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {(context, msgid if isinstance(msgid, str) else msgid[0])
             for _, _, msgid, _, context in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
             if msgid}
    catalog = _po()
    translated = {(m.context, m.id if isinstance(m.id, str) else m.id[0])
                  for m in catalog if m.id and (m.string if isinstance(m.string, str) else all(m.string))}
    missing = sorted(f"{context or ''}|{msgid}" for context, msgid in found - translated)
    assert not missing, missing
    assert len(found) > 500  # the extractor sees templates, code and the label modules


@pytest.fixture
def patched_catalog_client(tmp_path, pg_url, db_connection):
    """An app whose English catalog is a copy of the real one with one message changed and two removed."""
    catalog = _po()
    catalog["登录"].string = "Sign in (test catalog)"
    del catalog["用户名"]
    del catalog["用户名或密码错误"]
    target = tmp_path / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    (target / "messages.mo").write_bytes(buffer.getvalue())
    app = create_app({"SHOUHU_DATABASE_URL": pg_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret-i18n", "SHOUHU_REDIS_URL": None,
                      "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path)})
    return app.test_client()


def test_english_pages_come_from_the_catalog_and_missing_messages_fall_back_to_chinese(patched_catalog_client):
    client = patched_catalog_client
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in (test catalog)" in html and ">Log in<" not in html  # template text from the catalog
    assert "Password" in html  # untouched entries still English
    assert "用户名" in html and "Username" not in html  # removed from the catalog: Chinese
    # a lazy message raised by a service, shown in the page's language, falls back the same way
    html = client.post("/login", data={"username": "nobody_at_all", "password": "Wrong-pass1"}).get_data(
        as_text=True)
    assert "用户名或密码错误" in html and "Wrong username or password" not in html
    # Chinese pages never consult the catalog
    html = client.get("/login?lang=zh").get_data(as_text=True)
    assert "登录" in html and "Sign in" not in html


def test_lazy_messages_follow_the_request_and_api_bodies_carry_both(app):
    message = _l("最多 %(n)s 个字", n=20)
    with app.test_request_context("/?lang=en"):
        assert str(message) == "At most 20 characters"
        assert level_name("county") == "County" and role_name("admin") == "Administrator"
        assert both_languages({"name": [message]}) == {"name": ["最多 20 个字 / At most 20 characters"]}
        assert str(_ln("已催办 %(num)s 个单位", "已催办 %(num)s 个单位", 1)) == "Reminded 1 unit"
        assert str(_ln("已催办 %(num)s 个单位", "已催办 %(num)s 个单位", 3)) == "Reminded 3 units"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert str(message) == "At most 20 characters"
    with app.test_request_context("/?lang=fr"):
        assert str(message) == "最多 20 个字" and level_name("county") == "县(区)"
    with app.app_context():  # a job outside any request: Chinese, and both languages for storage
        assert str(message) == "最多 20 个字"
        assert both_languages(message) == "最多 20 个字 / At most 20 characters"


def test_a_message_carrying_user_text_is_escaped_in_pages(app):
    from flask import render_template_string

    with app.test_request_context("/?lang=en"):
        html = render_template_string("{{ m }}", m=_l("已保存儿童档案：%(name)s", name="<b>x</b>"))
    assert html == "Child record saved: &lt;b&gt;x&lt;/b&gt;"


def test_api_problem_details_are_in_both_languages(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "需要登录令牌 / A bearer token is required"
