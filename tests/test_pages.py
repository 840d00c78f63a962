"""The HTML pages: login, the unit tree, user management, language switch and CSRF."""

from __future__ import annotations

import re

import pytest

from tenant_app import create_app


def text_of(response) -> str:
    return response.get_data(as_text=True)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF hidden input on the page"
    return match.group(1)


def block(html: str, element_id: str) -> str:
    """The markup from the element with this id to the end of its section (good enough for asserts)."""
    start = html.index(f'id="{element_id}"')
    end = html.find("</section>", start)
    return html[start:end if end != -1 else None]


# --- login -----------------------------------------------------------------------------------------

def test_login_page_renders_in_chinese_with_csrf_field(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = text_of(response)
    assert '<html lang="zh-CN"' in html
    assert 'name="viewport"' in html
    assert "登录" in html and "用户名" in html and "密码" in html
    assert csrf_from(html)
    assert "shouhu.css" in html


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/units/440203").status_code == 302
    assert client.get("/users").status_code == 302


def test_wrong_password_shows_message_next_to_form(client, make_user):
    user = make_user("440203")
    response = client.post("/login", data={"username": user.username, "password": "Wrong-pass1"})
    assert response.status_code == 200
    html = text_of(response)
    assert 'id="login-error"' in html
    assert "用户名或密码错误" in html
    assert "Wrong username" not in html
    assert f'value="{user.username}"' in html  # the username stays filled in
    assert client.get("/").status_code == 302  # still not logged in


def test_unknown_user_gets_the_same_message(client):
    response = client.post("/login", data={"username": "nobody_at_all", "password": "Wrong-pass1"})
    assert response.status_code == 200
    assert "用户名或密码错误" in text_of(response)


def test_too_many_failures_are_429(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "SHOUHU_LOGIN_ACCOUNT_LIMITS", "2/15 minutes")
    user = make_user("440203")
    for _ in range(2):
        client.post("/login", data={"username": user.username, "password": "Wrong-pass1"})
    response = client.post("/login", data={"username": user.username, "password": "Passw0rd!"})
    assert response.status_code == 429
    assert "登录失败次数过多" in text_of(response)
    assert response.headers.get("Retry-After")


def test_login_redirects_to_safe_next_only(client, make_user):
    user = make_user("440203")
    ok = client.post("/login?next=/units/440203100", data={"username": user.username, "password": "Passw0rd!"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/units/440203100"
    client.post("/logout")
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/login", data={"username": user.username, "password": "Passw0rd!",
                                               "next": evil})
        assert response.status_code == 302
        assert response.headers["Location"] == "/", evil
        client.post("/logout")


def test_logout_is_a_post_and_ends_the_session(client, make_user, login):
    user = make_user("440203")
    login(client, user.username)
    html = text_of(client.get("/"))
    assert 'action="/logout"' in html and 'method="post"' in html
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


# --- the unit tree ---------------------------------------------------------------------------------

def test_home_shows_own_unit_breadcrumbs_counts_children_and_contacts(client, make_user, login):
    user = make_user("440203", real_name="王县长")
    make_user("440203100", real_name="李镇干", phone="13712345678")
    make_user("440203100", role="viewer", real_name="赵只读")
    make_user("440204100", real_name="孙邻县")
    login(client, user.username)
    response = client.get("/")
    assert response.status_code == 200
    html = text_of(response)
    # header: who is logged in, and where
    who = html[html.index('id="who"'):html.index("</p>", html.index('id="who"'))]
    assert "王县长" in who and "武江区" in who
    # the unit itself
    summary = block(html, "unit")
    assert "武江区" in summary and "440203" in summary and "县(区)" in summary
    # ancestors: names only, not links
    crumbs = html[html.index('class="breadcrumbs"'):html.index("</nav>", html.index('class="breadcrumbs"'))]
    assert "广东省" in crumbs and "韶关市" in crumbs
    assert "/units/44\"" not in crumbs and "/units/4402\"" not in crumbs
    # counts of active descendants per level (no cities or counties below a county)
    assert 'data-level="township"' in html and 'data-level="village"' in html
    assert 'data-level="county"' not in html
    # children with drill-down links and their staff contacts
    children = block(html, "children")
    for code, name in (("440203001", "新华街道"), ("440203100", "西联镇"), ("440203104", "重阳镇")):
        assert f'href="/units/{code}"' in children and name in children
    assert "李镇干" in children and "13712345678" in children
    assert "赵只读" not in children  # viewers are not contacts
    # nothing from the sibling county
    assert "浈江区" not in html and "东河街道" not in html and "孙邻县" not in html
    assert "返回上级" not in html  # never above one's own unit


def test_drill_down_and_up_within_the_subtree(client, make_user, login):
    login(client, make_user("440203").username)
    response = client.get("/units/440203100")
    assert response.status_code == 200
    html = text_of(response)
    assert "西联镇" in html and "碧桂园太阳城社区居民委员会" in html
    assert 'href="/units/440203100001"' in html
    crumbs = html[html.index('class="breadcrumbs"'):html.index("</nav>", html.index('class="breadcrumbs"'))]
    assert 'href="/units/440203"' in crumbs and "武江区" in crumbs
    assert 'id="up"' in html and 'href="/units/440203"' in block(html, "unit")
    village = text_of(client.get("/units/440203100001"))
    assert "没有下级单位" in village
    assert 'href="/units/440203100"' in village


def test_units_outside_the_subtree_are_404_and_ancestors_show_basics_only(client, make_user, login):
    login(client, make_user("440203").username)
    for code in ("440204", "440204100", "34", "abc", "4402039"):
        response = client.get(f"/units/{code}")
        assert response.status_code == 404, code
        assert "未找到" in text_of(response)
    ancestor = client.get("/units/4402")
    assert ancestor.status_code == 200
    html = text_of(ancestor)
    assert "韶关市" in html and "4402" in html
    assert 'id="children"' not in html and "浈江区" not in html and "武江区" not in block(html, "unit")


def test_children_are_paginated(client, make_user, login, monkeypatch):
    from tenant_app.units import views

    monkeypatch.setattr(views, "PER_PAGE", 15)
    login(client, make_user("440229").username)
    first = text_of(client.get("/units/440229100"))
    assert first.count('class="child"') == 15
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = text_of(client.get("/units/440229100?page=3"))
    assert last.count('class="child"') == 10  # 40 villages
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert "(共 40)" in last


# --- language --------------------------------------------------------------------------------------

def test_english_switch_is_remembered(client, make_user, login):
    login(client, make_user("440203").username)
    response = client.get("/?lang=en")
    assert response.status_code == 200
    html = text_of(response)
    assert '<html lang="en"' in html
    assert "Units below" in html and "Log out" in html and "Townships" in html
    assert "lang=en" in response.headers.get("Set-Cookie", "")
    # the cookie keeps English on the next page, and the switch links back to Chinese
    html = text_of(client.get("/units/440203100"))
    assert '<html lang="en"' in html and "Up one level" in html
    assert 'href="/units/440203100?lang=zh"' in html
    assert '<html lang="zh-CN"' in text_of(client.get("/?lang=zh"))
    assert "返回上级" in text_of(client.get("/units/440203100"))


def test_login_error_in_english(client):
    html = text_of(client.get("/login?lang=en"))
    assert "Log in" in html and "Username" in html
    response = client.post("/login", data={"username": "nobody_at_all", "password": "Wrong-pass1"})
    assert "Wrong username or password" in text_of(response)
    assert "用户名或密码错误" not in text_of(response)


# --- CSRF ------------------------------------------------------------------------------------------

@pytest.fixture
def csrf_client(pg_url, db_connection):
    """A second app on the same (rolled back) test database with CSRF protection on."""
    app = create_app({"SHOUHU_DATABASE_URL": pg_url, "TESTING": True, "WTF_CSRF_ENABLED": True,
                      "SECRET_KEY": "test-secret-csrf", "SHOUHU_REDIS_URL": None})
    assert app.config["WTF_CSRF_ENABLED"] is True
    return app.test_client()


def test_forms_without_csrf_token_are_rejected(csrf_client, make_user):
    user = make_user("440203", role="admin")
    form = {"username": user.username, "password": "Passw0rd!"}
    response = csrf_client.post("/login", data=form)
    assert response.status_code == 400
    assert "CSRF" in text_of(response)
    assert csrf_client.get("/").status_code == 302  # not logged in

    token = csrf_from(text_of(csrf_client.get("/login")))
    response = csrf_client.post("/login", data={**form, "csrf_token": token})
    assert response.status_code == 302
    # logged in now: other forms need the (new) token too
    home = text_of(csrf_client.get("/"))
    assert csrf_client.post("/logout").status_code == 400
    new_user = {"username": "csrf_made", "real_name": "某", "phone": "13800000001", "role": "staff",
                "unit_code": "440203", "password": "Passw0rd!"}
    assert csrf_client.post("/users/new", data=new_user).status_code == 400
    token = csrf_from(home)
    assert csrf_client.post("/users/new", data={**new_user, "csrf_token": token}).status_code == 302
    assert csrf_client.post("/logout", data={"csrf_token": token}).status_code == 302


# --- user management -------------------------------------------------------------------------------

def test_user_pages_are_for_admins_only(client, make_user, login):
    login(client, make_user("440203", role="staff").username)
    for url in ("/users", "/users/new"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "无权访问" in text_of(response)
    assert client.post("/users/1/disable").status_code == 403
    assert "用户管理" not in text_of(client.get("/"))


def test_admin_creates_a_user_with_field_errors_first(client, make_user, login):
    admin = make_user("440203", role="admin", real_name="管理员甲")
    login(client, admin.username)
    form_page = client.get("/users/new")
    assert form_page.status_code == 200
    html = text_of(form_page)
    assert csrf_from(html)
    for field in ("username", "real_name", "phone", "role", "unit_code", "password"):
        assert f'name="{field}"' in html
    assert 'value="440203"' in html  # the admin's own unit by default

    bad = {"username": "x", "real_name": "", "phone": "call me", "role": "staff",
           "unit_code": "440204", "password": "short"}
    response = client.post("/users/new", data=bad)
    assert response.status_code == 422
    html = text_of(response)
    errors = {f: html[html.index(f'id="{f}-errors"'):html.index("</div>", html.index(f'id="{f}-errors"'))]
              for f in ("username", "real_name", "phone", "unit_code", "password")}
    assert "用户名为 3-64 位" in errors["username"]
    assert "此项必填" in errors["real_name"]
    assert "电话号码格式不正确" in errors["phone"]
    assert "单位不在管辖范围内" in errors["unit_code"]
    assert "密码至少 8 位" in errors["password"]
    assert "/ " not in "".join(errors.values())  # only the Chinese half
    assert 'value="call me"' in html and 'value="440204"' in html  # input kept
    assert "short" not in html  # the password is never echoed

    english = text_of(client.post("/users/new?lang=en", data=bad))
    assert "Unit outside your subtree" in english and "单位不在管辖范围内" not in english
    client.get("/users/new?lang=zh")

    good = {"username": "new_staff_1", "real_name": "钱新人", "phone": "13811112222", "role": "staff",
            "unit_code": "440203100", "password": "Passw0rd!"}
    response = client.post("/users/new", data=good)
    assert response.status_code == 302
    assert response.headers["Location"] == "/users?unit=440203100"
    listing = text_of(client.get(response.headers["Location"]))
    assert "已创建用户" in listing
    assert "new_staff_1" in listing and "钱新人" in listing and "西联镇" in listing

    taken = text_of(client.post("/users/new", data=good))
    assert "用户名已存在" in taken

    client.post("/logout")
    login(client, "new_staff_1")
    # The admin chose the password: its owner chooses their own first.
    first = client.get("/")
    assert first.status_code == 302 and first.headers["Location"].endswith("/account/password")
    assert "西联镇" in text_of(client.get("/account/password"))


def test_admin_cannot_grant_more_than_it_holds_in_the_form(client, make_user, login):
    admin = make_user("440203", role="admin")
    login(client, admin.username)
    html = text_of(client.get("/users/new"))
    for role in ("admin", "staff", "viewer"):
        assert f'<option value="{role}"' in html


def test_admin_lists_filters_disables_and_enables(client, make_user, login):
    admin = make_user("440203", role="admin")
    staff = make_user("440203100", username="to_disable", real_name="周停用")
    make_user("440203001", username="other_township")
    make_user("440204100", username="sibling_county_user")
    login(client, admin.username)

    listing = text_of(client.get("/users"))
    assert "to_disable" in listing and "other_township" in listing
    assert "sibling_county_user" not in listing
    filtered = text_of(client.get("/users?unit=440203100"))
    assert "to_disable" in filtered and "other_township" not in filtered
    outside = client.get("/users?unit=440204")
    assert outside.status_code == 200 and "单位不在管辖范围内" in text_of(outside)
    assert "sibling_county_user" not in text_of(outside)

    response = client.post(f"/users/{staff.id}/disable", data={"next": "/users?unit=440203100"})
    assert response.status_code == 302 and response.headers["Location"] == "/users?unit=440203100"
    html = text_of(client.get(response.headers["Location"]))
    assert "已停用用户" in html
    row = html[html.index('data-username="to_disable"'):html.index("</tr>", html.index('data-username="to_disable"'))]
    assert "停用" in row and f"/users/{staff.id}/enable" in row

    # the disabled user cannot log in
    other = client.application.test_client()
    response = other.post("/login", data={"username": "to_disable", "password": "Passw0rd!"})
    assert response.status_code == 200 and "用户名或密码错误" in text_of(response)

    response = client.post(f"/users/{staff.id}/enable", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/users"
    assert "已启用用户" in text_of(client.get("/users"))
    assert other.post("/login", data={"username": "to_disable", "password": "Passw0rd!"}).status_code == 302

    # one's own account: no disable button, and the action is refused with a message
    own_row_start = listing.index(f'data-username="{admin.username}"')
    own_row = listing[own_row_start:listing.index("</tr>", own_row_start)]
    assert "/disable" not in own_row
    refused = client.post(f"/users/{admin.id}/disable", follow_redirects=True)
    assert "不能停用自己" in text_of(refused)
    assert client.post("/users/999999/disable").status_code == 404


def test_admin_cannot_touch_users_outside_its_subtree(client, make_user, login):
    outsider = make_user("440204100")
    login(client, make_user("440203", role="admin").username)
    assert client.post(f"/users/{outsider.id}/disable").status_code == 404
    assert client.get(f"/users/{outsider.id}/password").status_code == 404


def test_admin_resets_a_password(client, make_user, login):
    staff = make_user("440203100", username="forgetful")
    login(client, make_user("440203", role="admin").username)
    page = client.get(f"/users/{staff.id}/password")
    assert page.status_code == 200 and csrf_from(text_of(page))
    bad = client.post(f"/users/{staff.id}/password", data={"password": "12345678"})
    assert bad.status_code == 422
    assert "密码须同时包含字母和数字" in text_of(bad)
    good = client.post(f"/users/{staff.id}/password", data={"password": "N3w-secret"})
    assert good.status_code == 302
    assert "密码已重置" in text_of(client.get(good.headers["Location"]))
    other = client.application.test_client()
    assert other.post("/login", data={"username": "forgetful", "password": "Passw0rd!"}).status_code == 200
    assert other.post("/login", data={"username": "forgetful", "password": "N3w-secret"}).status_code == 302


def test_error_pages_use_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = text_of(response)
    assert "未找到" in html and "shouhu.css" in html
    assert "Not Found" in text_of(client.get("/no/such/page?lang=en"))
