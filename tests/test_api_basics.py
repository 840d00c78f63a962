"""Authentication, /me, units and the problem+json error shape."""

from __future__ import annotations


def test_token_and_me(client, make_user, token_for):
    user = make_user("440203", "staff", real_name="张三")
    headers = token_for(user.username)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["username"] == user.username
    assert me["role"] == "staff"
    assert me["unit"] == {"code": "440203", "name": "武江区", "level": "county"}


def test_unknown_user_and_wrong_password_get_the_same_401(client, make_user):
    user = make_user("440203")
    wrong = client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-nope1"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody_here", "password": "nope-nope1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.mimetype == "application/problem+json"
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]


def test_missing_fields_are_field_level_422(client):
    response = client.post("/api/v1/auth/token", json={"username": "x"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["status"] == 422
    assert "password" in body["errors"]


def test_me_without_token_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_unit_counts_for_city_and_county(client, make_user, token_for):
    headers = token_for(make_user("4402").username)
    city = client.get("/api/v1/units/4402", headers=headers).get_json()
    assert city["level"] == "city"
    assert city["counts"] == {"city": 0, "county": 10, "township": 112, "village": 1468}
    assert city["parent_code"] == "44"
    assert city["retired"] is False


def test_children_paginated(client, make_user, token_for):
    headers = token_for(make_user("4402").username)
    page1 = client.get("/api/v1/units/4402/children?per_page=4", headers=headers).get_json()
    page3 = client.get("/api/v1/units/4402/children?per_page=4&page=3", headers=headers).get_json()
    assert page1["total"] == 10
    assert len(page1["items"]) == 4
    assert len(page3["items"]) == 2
    assert all(item["level"] == "county" for item in page1["items"] + page3["items"])
    assert not {i["code"] for i in page1["items"]} & {i["code"] for i in page3["items"]}


def test_ancestor_shows_basic_fields_only(client, make_user, token_for):
    headers = token_for(make_user("440203001").username)
    body = client.get("/api/v1/units/44", headers=headers).get_json()
    assert body == {"code": "44", "name": "广东省", "level": "province"}
    assert client.get("/api/v1/units/44/children", headers=headers).status_code == 404


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/units/{code}" in spec["paths"]
    assert "/api/v1/auth/token" in spec["paths"]


def test_contacts_of_units_below(client, make_user, token_for):
    director = make_user("440203001002", "staff", real_name="陈主任", phone="13711112222")
    make_user("440203001002", "viewer", real_name="只读者")
    supervisor = make_user("440203001", "staff", real_name="林督导", phone="13733334444")
    headers = token_for(make_user("440203001", "viewer").username)
    body = client.get("/api/v1/units/440203001/contacts", headers=headers).get_json()
    # (Other tests of the session may have committed staff of these units: the check is on this test's own.)
    assert supervisor.real_name in [c["real_name"] for c in body["unit"]]
    village = body["children"]["440203001002"]
    assert (director.real_name, "13711112222") in [(c["real_name"], c["phone"]) for c in village]
    assert "只读者" not in [c["real_name"] for c in village]  # viewers are no one's contact
    sibling = make_user("440204", "staff").username
    assert client.get("/api/v1/units/440203001/contacts", headers=token_for(sibling)).status_code == 404
