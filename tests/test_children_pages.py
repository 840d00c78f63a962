"""Child record pages: list (masked IDs, filters, counts), the record form with per-field errors, stale
edits, the audited full view with its history, and the subtree boundary."""

from __future__ import annotations

import re

import pytest

from tenant_app.children import idcard

# Not the browser tests' village (440203001002), whose records the live server commits.
VILLAGE = "440203001003"
SIBLING_VILLAGE = "440203001004"  # same township
TOWNSHIP = "440203001"
COUNTY = "440203"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def make_id(birth: str = "20160301", seq: str = "013", area: str = "440203") -> str:
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


def wrong_check(number: str) -> str:
    return number[:17] + next(c for c in idcard.CHECK_CHARS if c != number[17])


def form(**overrides) -> dict:
    """A complete record form as the browser posts it (checkboxes present only when ticked)."""
    data = {
        "name": "李小明", "sex": "male", "ethnicity": "汉族", "birth_date": "2016-03-01", "id_number": make_id(),
        "hukou_registered": "1", "hukou_rural": "1", "hukou_place": "广东省韶关市", "current_address": "惠民西路1号",
        "health_status": "healthy", "disability_type": "", "disability_grade": "",
        "schooling": "primary", "school_name": "五祖路小学",
        "father_name": "李大", "father_birth_date": "", "father_id_number": "", "father_situation": "away",
        "father_work_province": "广东", "father_work_city": "深圳", "father_phone": "",
        "mother_name": "王芳", "mother_birth_date": "", "mother_id_number": "", "mother_situation": "away",
        "mother_work_province": "", "mother_work_city": "", "mother_phone": "",
        "guardian_name": "李爷爷", "guardian_relationship": "祖父", "guardian_phone": "13800001111",
        "guardian_id_number": "", "guardian_address": "", "guardianship_type": "fair",
        "guardianship_assessment": "", "income_sources": ["migrant_work", "farming"],
        "is_left_behind": "1", "difficulty_subcategory": "", "risk_level": "low",
        "status": "active", "exit_reason": "", "exited_at": "",
        "form_filler": "张主任", "reviewer": "", "report_date": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(html: str, field: str) -> str:
    marker = f'id="{field}-errors"'
    assert marker in html, f"no errors shown at {field}"
    start = html.index(marker)
    return html[start:html.index("</div>", start)]


def count_children(scoped_sql, unit=VILLAGE) -> int:
    return scoped_sql(unit, "SELECT count(*) FROM children")[0][0]


@pytest.fixture
def director(client, make_user, login):
    """A children's director of VILLAGE, logged in."""
    user = make_user(VILLAGE, "staff", real_name="张主任")
    login(client, user.username)
    return user


@pytest.fixture
def create(client, director):
    def do(**overrides) -> int:
        response = client.post("/children/new", data=form(**overrides))
        assert response.status_code == 302, text_of(response)[:2000]
        page = text_of(client.get(f"/children?q={overrides.get('name', '李小明')}"))
        match = re.search(r'data-child-id="(\d+)"', page)
        assert match, page[:2000]
        return int(match.group(1))

    return do


def test_list_renders_in_chinese_with_masked_ids(client, director, create):
    create()
    create(name="王小红", sex="female", id_number=make_id(seq="024"))
    response = client.get("/children")
    assert response.status_code == 200
    html = text_of(response)
    assert '<html lang="zh-CN"' in html
    assert "儿童档案" in html and "新建儿童档案" in html and 'id="new-child"' in html
    assert "李小明" in html and "王小红" in html
    assert make_id() not in html and idcard.mask_id(make_id()) in html
    assert "留守儿童" in html and "在册" in html and "低" in html
    assert "共 2" in html
    # a village director sees no village column and no unattended list link
    assert 'data-label="村(居)"' not in html
    # filters
    assert "王小红" not in text_of(client.get("/children?q=小明"))
    assert "李小明" not in text_of(client.get("/children?sex=x&category=in_difficulty"))
    assert "共 0" in text_of(client.get("/children?risk_level=high"))
    assert "共 2" in text_of(client.get("/children?unattended=0&status=active"))
    english = text_of(client.get("/children?lang=en"))
    assert "Child records" in english and "Left-behind child" in english and "Active" in english
    client.get("/children?lang=zh")


def test_create_with_a_wrong_id_number_shows_the_error_at_the_field_and_saves_nothing(
        client, director, scoped_sql):
    page = client.get("/children/new")
    assert page.status_code == 200
    html = text_of(page)
    for section in ("identity", "household", "health", "schooling", "parents", "guardianship", "income",
                    "assistance"):
        assert f'id="section-{section}"' in html
    assert '<option value="male"' in html and "男" in html and "外出务工" in html
    assert 'name="viewport"' in html

    bad = wrong_check(make_id())
    response = client.post("/children/new", data=form(id_number=bad, name="错号儿童"))
    assert response.status_code == 422
    html = text_of(response)
    assert "身份证号校验位错误" in field_errors(html, "id_number")
    assert "check character" not in html
    assert f'value="{bad}"' in html and 'value="错号儿童"' in html  # entered values kept
    assert re.search(r'value="migrant_work"\s+checked', html)
    assert count_children(scoped_sql) == 0

    english = text_of(client.post("/children/new?lang=en", data=form(id_number=bad)))
    assert "The ID number&#39;s check character is wrong" in field_errors(english, "id_number")
    client.get("/children?lang=zh")

    # a date that does not parse, and a birth date that disagrees with the ID number
    response = client.post("/children/new", data=form(birth_date="2016-13-45", father_birth_date="x"))
    assert response.status_code == 422
    html = text_of(response)
    assert "日期格式应为" in field_errors(html, "birth_date")
    assert "日期格式应为" in field_errors(html, "father_birth_date")
    response = client.post("/children/new", data=form(birth_date="2016-03-02", sex="female"))
    html = text_of(response)
    assert "出生日期与身份证号不一致" in field_errors(html, "birth_date")
    assert "性别与身份证号不一致" in field_errors(html, "sex")
    assert "此项必填" in field_errors(text_of(client.post("/children/new", data=form(sex="", name=""))), "sex")
    assert count_children(scoped_sql) == 0


def test_correct_create_redirects_and_appears_in_the_list(client, director, scoped_sql):
    response = client.post("/children/new", data=form(name="赵小刚"))
    assert response.status_code == 302 and response.headers["Location"] == "/children"
    html = text_of(client.get("/children"))
    assert "已保存儿童档案" in html and "赵小刚" in html
    assert scoped_sql(VILLAGE, "SELECT name, is_left_behind, income_sources::text FROM children")[0][:2] == (
        "赵小刚", True)

    # the same ID number again: the duplicate rule at the field
    again = client.post("/children/new", data=form(name="赵小刚二"))
    assert again.status_code == 422
    assert "该身份证号已在" in field_errors(text_of(again), "id_number")
    assert count_children(scoped_sql) == 1


def test_unattended_is_derived_and_shown(client, director, create, make_user, login):
    child_id = create(name="周无人", guardian_name="", guardian_relationship="", guardianship_type="")
    html = text_of(client.get("/children?unattended=1"))
    assert "周无人" in html and "无人监护" in html
    view = text_of(client.get(f"/children/{child_id}"))
    assert "无人监护" in view and "高" in view
    client.post("/logout")
    login(client, make_user(TOWNSHIP, "staff").username)
    html = text_of(client.get("/children/unattended"))
    assert "无人监护儿童" in html and "周无人" in html and "惠民西社区居民委员会" in html
    # a guardian found: no longer unattended
    edit = text_of(client.get(f"/children/{child_id}/edit"))
    version = re.search(r'name="version" value="(\d+)"', edit).group(1)
    response = client.post(f"/children/{child_id}/edit",
                           data=form(name="周无人", guardian_name="周奶奶", version=version, guardianship_type=""))
    assert response.status_code == 302, text_of(response)[:3000]
    assert "周无人" not in text_of(client.get("/children/unattended"))


def test_edit_with_a_stale_version_gives_the_conflict_message(client, director, create, scoped_sql):
    child_id = create()
    page = client.get(f"/children/{child_id}/edit")
    assert page.status_code == 200
    html = text_of(page)
    assert 'name="version" value="1"' in html and 'value="李小明"' in html

    ok = client.post(f"/children/{child_id}/edit", data=form(version="1", school_name="新学校"))
    assert ok.status_code == 302 and ok.headers["Location"] == f"/children/{child_id}"
    assert "已保存修改" in text_of(client.get(ok.headers["Location"]))

    stale = client.post(f"/children/{child_id}/edit", data=form(version="1", school_name="旧页面的修改"))
    assert stale.status_code == 409
    html = text_of(stale)
    assert 'id="conflict"' in html and "档案已被他人修改，请刷新后重试" in html
    assert 'value="旧页面的修改"' in html  # what was typed is still there to copy
    assert scoped_sql(VILLAGE, "SELECT school_name, version FROM children")[0] == ("新学校", 2)
    # a form error on a stale page keeps the stale version: fixing the error still meets the conflict
    unparsed = client.post(f"/children/{child_id}/edit", data=form(version="1", birth_date="2016-02-30"))
    assert unparsed.status_code == 422 and 'name="version" value="1"' in text_of(unparsed)

    # a field error on edit: 422, nothing saved
    bad = client.post(f"/children/{child_id}/edit", data=form(version="2", id_number="123"))
    assert bad.status_code == 422
    assert "身份证号应为18位" in field_errors(text_of(bad), "id_number")
    assert scoped_sql(VILLAGE, "SELECT version FROM children")[0][0] == 2


def test_full_view_writes_an_audit_row_and_shows_history(client, director, create, scoped_sql):
    child_id = create()
    client.post(f"/children/{child_id}/edit", data=form(version="1", school_name="新学校", risk_level="medium"))
    assert scoped_sql(VILLAGE, "SELECT count(*) FROM audit_events")[0][0] == 0
    response = client.get(f"/children/{child_id}")
    assert response.status_code == 200
    html = text_of(response)
    assert make_id() in html  # in full on the record page
    assert "惠民西社区居民委员会" in html and 'id="edit-child"' in html
    rows = scoped_sql(VILLAGE, "SELECT child_id, user_id, action, purpose FROM audit_events")
    assert rows == [(child_id, director.id, "read", "查看档案 / view record")]
    history = html[html.index('id="history"'):]
    assert "修改" in history and "新建" in history and "张主任" in history
    assert "学校名称" in history and "五祖路小学" in history and "新学校" in history
    assert "风险等级" in history and "低" in history and "中" in history
    assert client.get(f"/children/{child_id}/history").status_code == 302
    english = text_of(client.get(f"/children/{child_id}?lang=en"))
    assert "Change history" in english and "School" in english and "Left-behind child" in english
    client.get("/children?lang=zh")


def test_roles_hide_buttons_and_the_service_enforces(client, director, create, make_user, login):
    child_id = create()
    client.post("/logout")
    login(client, make_user(COUNTY, "viewer").username)
    html = text_of(client.get("/children"))
    assert "李小明" in html and 'id="new-child"' not in html
    assert 'data-label="村(居)"' in html and "惠民西社区居民委员会" in html
    assert 'id="edit-child"' not in text_of(client.get(f"/children/{child_id}"))
    assert client.get("/children/new").status_code == 403
    assert client.get(f"/children/{child_id}/edit").status_code == 403
    assert client.post(f"/children/{child_id}/edit", data=form(version="1")).status_code == 403
    client.post("/logout")
    login(client, make_user(COUNTY, "staff").username)
    assert client.get("/children/new").status_code == 403  # counties correct, villages create
    assert 'id="edit-child"' in text_of(client.get(f"/children/{child_id}"))
    filtered = client.get("/children?unit=440204")
    assert filtered.status_code == 200 and "单位不在管辖范围内" in text_of(filtered)


def test_a_sibling_villages_child_is_a_404_page(client, director, create, make_user, login):
    child_id = create()
    client.post("/logout")
    login(client, make_user(SIBLING_VILLAGE, "staff").username)
    assert "李小明" not in text_of(client.get("/children"))
    for url in (f"/children/{child_id}", f"/children/{child_id}/edit"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "未找到" in text_of(response) and "李小明" not in text_of(response)
    assert client.post(f"/children/{child_id}/edit", data=form(version="1")).status_code == 404


def test_pages_need_login(client):
    for url in ("/children", "/children/new", "/children/1", "/children/unattended"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_visit_due_filter(client, director, create, scoped_sql):
    from tenant_app.children import views

    if views.due_visits is None:
        pytest.skip("tenant_app.visits is not installed")
    late = create(name="逾期儿童")
    create(name="刘新来", id_number=make_id(seq="024"), sex="female")
    # never visited: due 180 days (low risk) after the record was made
    scoped_sql(VILLAGE, "UPDATE children SET created_at = now() - interval '200 days' WHERE id = :id "
               "RETURNING id", id=late)
    html = text_of(client.get("/children?visit=overdue&q=ignored"))
    assert 'id="visit"' in html and "走访已逾期" in html
    assert "逾期儿童" in html and "刘新来" not in html and "共 1" in html
    assert 'class="due-on"' in html
    assert "共 0" in text_of(client.get("/children?visit=due_soon"))
    assert "刘新来" in text_of(client.get("/children?visit=bogus"))
