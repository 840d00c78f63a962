"""Child records through the API: create, read (audited), patch, 409, history, duplicates, masking."""

from __future__ import annotations

import pytest

from tenant_app.children import idcard

VILLAGE = "440203001002"
SIBLING_VILLAGE = "440203001003"  # same township
TOWNSHIP = "440203001"
COUNTY = "440203"
SIBLING_COUNTY_VILLAGE = "440204001001"


def make_id(birth: str = "20160301", seq: str = "013", area: str = "440203") -> str:
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


def child_payload(**overrides) -> dict:
    data = {
        "name": "李小明", "sex": "male", "birth_date": "2016-03-01", "id_number": make_id(),
        "father_name": "李大", "father_situation": "away", "father_work_province": "广东", "father_work_city": "深圳",
        "mother_name": "王芳", "mother_situation": "away",
        "guardian_name": "李爷爷", "guardian_relationship": "祖父", "guardian_phone": "13800001111",
        "schooling": "primary", "is_left_behind": True, "income_sources": ["migrant_work", "farming"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def director(make_user, token_for):
    """A children's director of VILLAGE and its headers."""
    user = make_user(VILLAGE, "staff")
    return user, token_for(user.username)


@pytest.fixture
def create(client, director):
    def do(headers=None, **overrides):
        response = client.post("/api/v1/children", json=child_payload(**overrides), headers=headers or director[1])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return do


def count_children(scoped_sql, unit=COUNTY) -> int:
    return scoped_sql(unit, "SELECT count(*) FROM children")[0][0]


def test_create_and_read_full_record(client, director, create):
    body = create()
    assert body["village_code"] == VILLAGE
    assert body["version"] == 1
    assert body["id_number"] == make_id()
    assert body["categories"] == ["left_behind"]
    assert body["risk_level"] == "low" and body["unattended"] is False
    full = client.get(f"/api/v1/children/{body['id']}", headers=director[1]).get_json()
    assert full["id_number"] == make_id()
    assert full["father_work_city"] == "深圳"
    assert full["income_sources"] == ["migrant_work", "farming"]


def test_field_errors_are_per_field_and_write_nothing(client, director, scoped_sql):
    before = count_children(scoped_sql)
    bad = child_payload(id_number="440203201603010131", sex="female", mother_situation="home",
                        schooling="not_in_school")
    response = client.post("/api/v1/children", json=bad, headers=director[1])
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"id_number", "is_left_behind", "schooling"} <= set(errors)
    assert count_children(scoped_sql) == before


def test_sex_and_birth_mismatch_via_api(client, director):
    response = client.post("/api/v1/children", json=child_payload(sex="female", birth_date="2016-03-02"),
                           headers=director[1])
    assert response.status_code == 422
    assert {"sex", "birth_date"} <= set(response.get_json()["errors"])


def test_unattended_is_accepted_high_risk_and_listed_for_township_and_county(client, create, make_user,
                                                                               token_for):
    body = create(guardian_name="", guardian_relationship="", guardian_phone="")
    assert body["unattended"] is True and body["risk_level"] == "high"
    assert body["guardianship_type"] == "unattended"
    for unit in (TOWNSHIP, COUNTY):
        headers = token_for(make_user(unit, "viewer").username)
        listed = client.get("/api/v1/unattended", headers=headers).get_json()
        assert [item["id"] for item in listed["items"]] == [body["id"]]
    other = token_for(make_user("440204", "viewer").username)
    assert client.get("/api/v1/unattended", headers=other).get_json()["total"] == 0


def test_patch_history_and_stale_version_409(client, director, create, make_user, token_for):
    body = create()
    url = f"/api/v1/children/{body['id']}"
    first = client.patch(url, json={"version": 1, "school_name": "五祖路小学"}, headers=director[1])
    assert first.status_code == 200 and first.get_json()["version"] == 2
    # The township supervisor corrects a field.
    supervisor = token_for(make_user(TOWNSHIP, "staff").username)
    second = client.patch(url, json={"version": 2, "risk_level": "medium"}, headers=supervisor)
    assert second.status_code == 200 and second.get_json()["version"] == 3
    stale = client.patch(url, json={"version": 2, "school_name": "别的学校"}, headers=director[1])
    assert stale.status_code == 409
    assert stale.mimetype == "application/problem+json"
    current = client.get(url, headers=director[1]).get_json()
    assert current["school_name"] == "五祖路小学" and current["version"] == 3
    history = client.get(f"{url}/history", headers=director[1]).get_json()
    assert [h["version"] for h in history] == [1, 2, 3]
    assert history[1]["changes"] == {"school_name": ["", "五祖路小学"]}
    assert history[2]["changes"] == {"risk_level": ["low", "medium"]}
    assert history[0]["changes"]["id_number"] == [None, idcard.mask_id(make_id())]
    old = client.get(f"{url}/history/2", headers=director[1]).get_json()
    assert old["record"]["school_name"] == "五祖路小学" and old["record"]["risk_level"] == "low"
    assert client.get(f"{url}/history/9", headers=director[1]).status_code == 404


def test_patch_requires_version_and_validates(client, director, create):
    body = create()
    url = f"/api/v1/children/{body['id']}"
    assert client.patch(url, json={"school_name": "x"}, headers=director[1]).status_code == 422
    bad = client.patch(url, json={"version": 1, "sex": "female"}, headers=director[1])
    assert bad.status_code == 422 and "sex" in bad.get_json()["errors"]
    assert client.get(url, headers=director[1]).get_json()["version"] == 1


def test_roles(client, director, create, make_user, token_for):
    body = create()
    url = f"/api/v1/children/{body['id']}"
    for unit, role in ((VILLAGE, "viewer"), (COUNTY, "admin"), ("4402", "staff")):
        headers = token_for(make_user(unit, role).username)
        assert client.get(url, headers=headers).status_code == 200
        assert client.patch(url, json={"version": 1, "reviewer": "x"}, headers=headers).status_code == 403
    township = token_for(make_user(TOWNSHIP, "staff").username)
    assert client.post("/api/v1/children", json=child_payload(id_number=make_id(seq="015")),
                       headers=township).status_code == 403


def test_duplicate_in_province_outside_the_subtree_does_not_say_where(client, create, make_user, token_for):
    create()
    sibling = token_for(make_user(SIBLING_VILLAGE, "staff").username)
    response = client.post("/api/v1/children", json=child_payload(), headers=sibling)
    assert response.status_code == 422
    message = " ".join(response.get_json()["errors"]["id_number"])
    assert "已在本省其他地区登记" in message
    assert VILLAGE not in message and "五祖路" not in message  # the sibling cannot see that village: not where
    # Another province may hold the same number.
    liesan = token_for(make_user("340604001001", "staff").username)
    assert client.post("/api/v1/children", json=child_payload(), headers=liesan).status_code == 201


def test_duplicate_visible_to_caller_names_unit(client, director, create):
    create()
    response = client.post("/api/v1/children", json=child_payload(name="重复"), headers=director[1])
    assert response.status_code == 422
    assert "五祖路社区居民委员会" in " ".join(response.get_json()["errors"]["id_number"])


def test_list_masks_ids_and_filters(client, director, create, make_user, token_for):
    a = create()
    b = create(name="张小红", sex="female", id_number=make_id("20150505", "024"), birth_date="2015-05-05",
               guardian_name="")
    headers = token_for(make_user(COUNTY, "viewer").username)
    page = client.get("/api/v1/children", headers=headers).get_json()
    assert page["total"] == 2 and page["page"] == 1
    ids = {item["id"]: item for item in page["items"]}
    assert ids[a["id"]]["id_number"] == make_id()[:6] + "*" * 8 + make_id()[-4:]
    assert set(ids[a["id"]]) >= {"id", "name", "village_code", "id_number", "category", "risk_level", "status"}
    assert all("*" in item["id_number"] for item in page["items"])
    high = client.get("/api/v1/children?risk_level=high", headers=headers).get_json()
    assert [i["id"] for i in high["items"]] == [b["id"]]
    named = client.get("/api/v1/children?q=小红", headers=headers).get_json()
    assert [i["id"] for i in named["items"]] == [b["id"]]
    assert client.get("/api/v1/children?category=in_difficulty", headers=headers).get_json()["total"] == 0
    assert client.get(f"/api/v1/children?unit={SIBLING_VILLAGE}", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/children?unit=440204", headers=headers).status_code == 404


def test_full_read_writes_audit_row_admin_reads_it(client, director, create, make_user, token_for, scoped_sql):
    body = create()
    reader = make_user(TOWNSHIP, "viewer")
    response = client.get(f"/api/v1/children/{body['id']}?purpose=家访准备", headers=token_for(reader.username))
    assert response.status_code == 200
    rows = scoped_sql(VILLAGE, "SELECT user_id, child_id, purpose, action FROM audit_events "
                               "WHERE child_id = :cid", cid=body["id"])
    assert (reader.id, body["id"], "家访准备", "read") in [tuple(r) for r in rows]
    admin = token_for(make_user(COUNTY, "admin").username)
    audit = client.get(f"/api/v1/audit?child_id={body['id']}", headers=admin).get_json()
    assert audit["items"][0]["user_id"] == reader.id and audit["items"][0]["purpose"] == "家访准备"
    assert client.get("/api/v1/audit", headers=director[1]).status_code == 403
    sibling_admin = token_for(make_user("440204", "admin").username)
    assert client.get("/api/v1/audit", headers=sibling_admin).get_json()["total"] == 0
    # Lists are not audited.
    before = scoped_sql(VILLAGE, "SELECT count(*) FROM audit_events")[0][0]
    client.get("/api/v1/children", headers=director[1])
    assert scoped_sql(VILLAGE, "SELECT count(*) FROM audit_events")[0][0] == before


def test_audit_is_append_only_for_the_app_role(create, scoped_sql):
    create()
    from sqlalchemy.exc import ProgrammingError

    with pytest.raises(ProgrammingError):
        scoped_sql(VILLAGE, "DELETE FROM audit_events")


def test_openapi_lists_children_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/children", "/api/v1/children/{child_id}", "/api/v1/audit"} <= set(paths)


def test_naming_a_guardian_clears_unattended(client, director, create):
    body = create(guardian_name="")
    assert body["unattended"] is True
    url = f"/api/v1/children/{body['id']}"
    fixed = client.patch(url, json={"version": 1, "guardian_name": "李奶奶", "risk_level": "medium"},
                         headers=director[1]).get_json()
    assert fixed["unattended"] is False and fixed["risk_level"] == "medium"
    assert fixed["guardianship_type"] is None


def test_patch_sending_back_the_derived_unattended_type_still_clears_it(client, director, create):
    """A client that PATCHes the record back whole (guardianship_type "unattended" included) after naming a
    guardian sees the unattended flag cleared: the type is derived from the facts, not kept."""
    body = create(guardian_name="", guardian_relationship="", guardian_phone="")
    assert body["unattended"] is True and body["guardianship_type"] == "unattended"
    record = client.get(f"/api/v1/children/{body['id']}", headers=director[1]).get_json()
    patch = {"version": record["version"], "guardianship_type": "unattended", "guardian_name": "王奶奶",
             "guardian_relationship": "祖母", "guardian_phone": "13800001111"}
    response = client.patch(f"/api/v1/children/{body['id']}", json=patch, headers=director[1])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unattended"] is False
    assert response.get_json()["guardianship_type"] != "unattended"
