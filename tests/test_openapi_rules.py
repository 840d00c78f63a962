"""The OpenAPI document states the rules the services enforce, and the API enforces what the document states.

Every string a request body or query string carries is bounded in the document (maxLength, enum, format or
pattern) and every integer has a maximum, so a new field without a rule fails here. A value that breaks a
stated rule is refused (422, the field named in `errors`, the service's message in both languages) before the
service runs, and nothing is written; what the service accepts (surrounding whitespace, an empty `unit`) the
schema accepts too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenant_app import clock
from tenant_app.auth.passwords import MAX_LENGTH, TOO_LONG, password_problems
from tenant_app.errors import ValidationFailed

PROVINCE, COUNTY, TOWNSHIP, VILLAGE = "44", "440203", "440203001", "440203001002"
T = clock.today_cst()
BOUNDED_STRING = ("maxLength", "enum", "format", "pattern")
BOUNDED_QUERY_STRING = ("maxLength", "enum", "pattern")


def _resolve(spec: dict, schema: dict) -> tuple[str | None, dict]:
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    name = ref.split("/")[-1]
    return name, spec["components"]["schemas"][name]


def _unbounded(spec: dict, schema: dict, path: str, seen: set, checked: list) -> list[str]:
    """The paths of `schema`'s strings and integers that state no bound, following $ref, properties, array
    items, additionalProperties and allOf/anyOf/oneOf."""
    name, schema = _resolve(spec, schema)
    if name is not None:
        if name in seen:
            return []
        seen = seen | {name}
    found = []
    kind = schema.get("type")
    if kind == "string":
        checked.append(path)
        if not any(key in schema for key in BOUNDED_STRING):
            found.append(f"{path}: string without maxLength/enum/format/pattern")
    elif kind == "integer":
        checked.append(path)
        if "maximum" not in schema and "enum" not in schema:
            found.append(f"{path}: integer without maximum")
    for key, inner in (schema.get("properties") or {}).items():
        found += _unbounded(spec, inner, f"{path}.{key}", seen, checked)
    if isinstance(schema.get("items"), dict):
        found += _unbounded(spec, schema["items"], f"{path}[]", seen, checked)
    if isinstance(schema.get("additionalProperties"), dict):
        found += _unbounded(spec, schema["additionalProperties"], f"{path}{{}}", seen, checked)
    for combined in ("allOf", "anyOf", "oneOf"):
        for index, inner in enumerate(schema.get(combined) or []):
            found += _unbounded(spec, inner, f"{path}<{combined}{index}>", seen, checked)
    return found


def _operations(spec: dict):
    for url, operations in spec["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and method != "parameters":
                yield f"{method.upper()} {url}", operation


def test_every_request_string_and_integer_states_its_bound(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    problems: list[str] = []
    checked: list[str] = []
    for name, operation in _operations(spec):
        for content_type, content in (operation.get("requestBody") or {}).get("content", {}).items():
            problems += _unbounded(spec, content["schema"], f"{name} body ({content_type})", set(), checked)
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            schema = _resolve(spec, parameter.get("schema", {}))[1]
            where = f"{name} ?{parameter['name']}"
            checked.append(where)
            if schema.get("type") == "string" and not any(key in schema for key in BOUNDED_QUERY_STRING):
                problems.append(f"{where}: query string without maxLength/enum/pattern")
            elif schema.get("type") == "integer" and "maximum" not in schema and "enum" not in schema:
                problems.append(f"{where}: query integer without maximum")
            elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
                problems += _unbounded(spec, schema["items"], where + "[]", set(), [])
    assert problems == [], "\n".join(problems)
    assert len(checked) > 150  # the walk reached the bodies' fields and the query strings


def test_the_document_states_the_services_rules(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    create, remind = schemas["CampaignCreate"]["properties"], schemas["Remind"]["properties"]
    user = schemas["UserCreate"]["properties"]
    assert create["title"]["maxLength"] == 200 and create["directive"]["maxLength"] == 20000
    assert set(schemas["CampaignUpdate"]["properties"]["kind"]["enum"]) == {
        "census", "questionnaire", "special_action", None}
    assert (remind["units"]["minItems"], remind["units"]["maxItems"], remind["message"]["maxLength"]) == (1, 500, 500)
    unit_code = "^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"
    assert remind["units"]["items"]["pattern"] == unit_code and user["unit_code"]["pattern"] == unit_code
    assert (user["password"]["minLength"], user["password"]["maxLength"]) == (8, MAX_LENGTH)
    assert user["username"]["pattern"] == "^[A-Za-z0-9_.-]{3,64}$" and user["real_name"]["maxLength"] == 64
    assert schemas["TransferRequest"]["properties"]["to_village"]["pattern"] == "^([0-9]{12})$"
    assert schemas["PolicyInput"]["properties"]["high_days"]["maximum"] == 730


# --- behaviour ---------------------------------------------------------------------------------------

@pytest.fixture
def bearer(make_user, token_for):
    def make(code: str, role: str = "staff") -> dict:
        return token_for(make_user(code, role).username)

    return make


def _refused(response, *fields) -> dict:
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert set(errors) == set(fields), errors
    return errors


def _count(scoped_sql, unit: str, table: str) -> int:
    return scoped_sql(unit, f"SELECT count(*) FROM {table}")[0][0]


def _campaign_body(**fields) -> dict:
    return {"title": "暑期安全排查", "kind": "questionnaire", "due_on": (T + timedelta(days=10)).isoformat(), **fields}


def test_a_too_long_title_is_refused_before_the_service_and_nothing_is_written(client, bearer, scoped_sql):
    headers = bearer(COUNTY)
    before = _count(scoped_sql, COUNTY, "campaigns")
    errors = _refused(client.post("/api/v1/campaigns", json=_campaign_body(title="题" * 201), headers=headers),
                      "title")
    assert errors["title"] == ["标题不超过200字 / At most 200 characters"]
    assert _count(scoped_sql, COUNTY, "campaigns") == before
    # The service measures the title without its surrounding whitespace, and so does the schema.
    padded = client.post("/api/v1/campaigns", json=_campaign_body(title=f"  {'题' * 200}  "), headers=headers)
    assert padded.status_code == 201 and padded.get_json()["title"] == "题" * 200
    draft = padded.get_json()
    _refused(client.patch(f"/api/v1/campaigns/{draft['id']}", headers=headers,
                          json={"version": draft["version"], "title": "题" * 201}), "title")
    assert _count(scoped_sql, COUNTY, "campaigns") == before + 1
    assert client.get(f"/api/v1/campaigns/{draft['id']}", headers=headers).get_json()["title"] == "题" * 200


def test_an_unknown_campaign_kind_is_refused_and_nothing_is_written(client, bearer, scoped_sql):
    headers = bearer(COUNTY)
    before = _count(scoped_sql, COUNTY, "campaigns")
    errors = _refused(client.post("/api/v1/campaigns", json=_campaign_body(kind="party"), headers=headers), "kind")
    assert errors["kind"] == ["类型须为：census, questionnaire, special_action / "
                              "Kind must be one of: census, questionnaire, special_action"]
    _refused(client.post("/api/v1/campaigns", json=_campaign_body(template="nope"), headers=headers), "template")
    assert _count(scoped_sql, COUNTY, "campaigns") == before
    draft = client.post("/api/v1/campaigns", json=_campaign_body(), headers=headers).get_json()
    _refused(client.patch(f"/api/v1/campaigns/{draft['id']}", json={"version": draft["version"], "kind": "party"},
                          headers=headers), "kind")
    after = client.get(f"/api/v1/campaigns/{draft['id']}", headers=headers).get_json()
    assert (after["kind"], after["version"]) == ("questionnaire", draft["version"])
    # Empty, like omitted, still takes the template's kind (the service's rule).
    made = client.post("/api/v1/campaigns", json={"template": "census", "kind": "", "title": "",
                                                  "due_on": (T + timedelta(days=10)).isoformat()}, headers=headers)
    assert made.status_code == 201 and made.get_json()["kind"] == "census"


def test_a_seven_digit_unit_code_is_refused_wherever_a_unit_is_named(client, bearer, make_user, scoped_sql):
    staff = bearer(COUNTY)
    message = ["单位代码须为 2、4、6、9 或 12 位数字 / A unit code has 2, 4, 6, 9 or 12 digits"]
    for url in ("/api/v1/children", "/api/v1/unattended", "/api/v1/visits/due"):
        assert _refused(client.get(f"{url}?unit=4402031", headers=staff), "unit") == {"unit": message}, url
        assert client.get(f"{url}?unit=", headers=staff).status_code == 200, url  # empty: the caller's unit
    campaign = client.post("/api/v1/campaigns", json=_campaign_body(), headers=staff).get_json()
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/publish", headers=staff).status_code == 202
    for path in ("progress", "overdue", "answers/summary", "export"):
        _refused(client.get(f"/api/v1/campaigns/{campaign['id']}/{path}?unit=4402031", headers=staff), "unit")
    assert client.get(f"/api/v1/campaigns/{campaign['id']}/progress?unit={TOWNSHIP}",
                      headers=staff).status_code == 200

    notifications = _count(scoped_sql, COUNTY, "notifications")
    errors = _refused(client.post(f"/api/v1/campaigns/{campaign['id']}/remind", headers=staff,
                                  json={"units": [TOWNSHIP, "4402031"]}), "units")
    assert errors["units"] == message
    _refused(client.post(f"/api/v1/campaigns/{campaign['id']}/remind", headers=staff, json={"units": []}), "units")
    assert _count(scoped_sql, COUNTY, "notifications") == notifications

    admin = bearer(COUNTY, "admin")
    _refused(client.get("/api/v1/users?unit=4402031", headers=admin), "unit")
    body = {"username": "seven_digits", "real_name": "王五", "phone": "13912345678", "role": "staff",
            "unit_code": "4402031", "password": "Candidate2026"}
    assert _refused(client.post("/api/v1/users", json=body, headers=admin), "unit_code") == {"unit_code": message}
    assert scoped_sql(COUNTY, "SELECT count(*) FROM users WHERE username = 'seven_digits'")[0][0] == 0

    director = bearer(VILLAGE)
    child = {"name": "张小明", "sex": "male", "birth_date": "2016-03-01", "village_code": "4402030010021"}
    _refused(client.post("/api/v1/children", json=child, headers=director), "village_code")
    assert _count(scoped_sql, VILLAGE, "children") == 0


def test_user_fields_keep_the_services_whitespace_and_refuse_what_it_refuses(client, bearer, scoped_sql):
    admin = bearer(COUNTY, "admin")
    body = {"username": "  padded_name  ", "real_name": " 王五 ", "phone": " 139 1234 5678 ", "role": "staff",
            "unit_code": f" {TOWNSHIP} ", "password": "Candidate2026"}
    made = client.post("/api/v1/users", json=body, headers=admin)
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["username"], made.get_json()["unit_code"]) == ("padded_name", TOWNSHIP)
    for field, value in (("username", "two words"), ("real_name", "名" * 65), ("phone", "12"),
                         ("password", "a1" * 129), ("password", "short1")):
        errors = _refused(client.post("/api/v1/users", json={**body, "username": "another_one", field: value},
                                      headers=admin), field)
        assert all(" / " in message for message in errors[field])  # both languages
    assert scoped_sql(COUNTY, "SELECT count(*) FROM users WHERE username = 'another_one'")[0][0] == 0
    _refused(client.post(f"/api/v1/users/{made.get_json()['id']}/password", json={"password": "a1" * 129},
                         headers=admin), "password")


def test_the_services_enforce_the_same_maximums(app, make_user):
    """Pages reach the services without the API's schemas: the lengths the document states hold there too."""
    from hierarchy.scope import Scope, scoped
    from tenant_app.db import db
    from tenant_app.users.services import create_user

    assert password_problems("a1" * (MAX_LENGTH // 2)) == []
    assert password_problems("a1" * (MAX_LENGTH // 2) + "x") == [TOO_LONG]
    admin = make_user(COUNTY, "admin")
    with scoped(Scope.unit(COUNTY)):
        session = db.new_session()
        try:
            with pytest.raises(ValidationFailed) as caught:
                create_user(session, admin, {"username": "long_name", "real_name": "名" * 65, "phone": "13912345678",
                                             "role": "staff", "unit_code": TOWNSHIP, "password": "Candidate2026"})
        finally:
            session.close()
    assert set(caught.value.errors) == {"real_name"}
