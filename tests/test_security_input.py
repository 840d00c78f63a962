"""Hostile input answers 404 or a field error, never 500: ids beyond the database's range on every route,
page and size out of range, deep JSON, huge integers, NUL bytes and lone surrogates; security headers on every
response; uploads judged by their content and served as downloads; the OpenAPI document tells the truth about
errors."""

from __future__ import annotations

import io
import re

import pytest

from tenant_app.auth.services import issue_token
from tenant_app.db import db
from tests import tasks_factories
from tests.tasks_factories import COUNTY, VILLAGE

make_campaign = tasks_factories.make_campaign

HUGE_IDS = [2**31, 2**40, 2**63 - 1, 2**63 + 5, int("9" * 30), "9" * 5000]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def bearer(app, make_user):
    def make(code: str, role: str = "staff") -> dict:
        user = make_user(code, role)
        with app.app_context():
            session = db.new_session()
            try:
                token, _ = issue_token(session, user)
                session.commit()
            finally:
                session.close()
        return {"Authorization": f"Bearer {token}"}

    return make


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IdConverter"]
        if ints:
            yield rule, ints


def test_ids_beyond_the_database_range_are_404_on_every_route(app, client, bearer, login, make_user):
    """Every rule with an id, every method, API (bearer) and pages (session): 404, not 500."""
    headers = bearer(COUNTY)
    page_client = app.test_client()
    login(page_client, make_user(COUNTY, "staff").username)
    rules = list(_id_rules(app))
    assert len(rules) >= 35
    for rule, names in rules:
        for huge in HUGE_IDS:
            path = rule.rule
            for name in names:
                path = re.sub(rf"<[^>]*:{name}>", str(huge), path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if path.startswith("/api/"):
                    response = client.open(path, method=method, headers=headers, json={})
                else:
                    response = page_client.open(path, method=method, data={})
                assert response.status_code == 404, (method, path[:80], response.status_code)


def test_page_and_per_page_out_of_range_are_422_in_the_api(client, bearer):
    staff, admin = bearer(COUNTY), bearer(COUNTY, "admin")
    for url in ("/api/v1/children", "/api/v1/units/440203/children", "/api/v1/users", "/api/v1/tasks",
                "/api/v1/campaigns", "/api/v1/unattended", "/api/v1/visits/due"):
        for query in ("page=0", "page=-1", f"page={2**63}", "page=10001", "per_page=0", "per_page=-5",
                      "per_page=501", "page=" + "9" * 5000):
            headers = admin if url == "/api/v1/users" else staff
            response = client.get(f"{url}?{query}", headers=headers)
            assert response.status_code == 422, (url, query[:20], response.status_code)
            assert response.mimetype == "application/problem+json"
            assert set(response.get_json()["errors"]) & {"page", "per_page"}, (url, query[:20])
        assert client.get(f"{url}?page=10000&per_page=500", headers=headers).status_code == 200, url


def test_page_numbers_on_pages_are_clamped(app, client, login, make_user):
    login(client, make_user(COUNTY, "staff").username)
    for url in ("/children", "/users", "/tasks", f"/units/{COUNTY}"):
        for page in (str(2**63), "-3", "9" * 5000):
            response = client.get(f"{url}?page={page}")
            assert response.status_code in (200, 403), (url, page[:20], response.status_code)


def test_deep_json_and_huge_integers_are_refused(client, bearer):
    headers = {**bearer(VILLAGE), "Content-Type": "application/json"}
    for depth in (40, 5000, 200_000):
        body = "[" * depth + "]" * depth
        response = client.post("/api/v1/children", data=body, headers=headers)
        assert response.status_code in (400, 422), depth
        assert response.mimetype == "application/problem+json"
    response = client.post("/api/v1/children", data='{"name": "a", "disability_grade": ' + "9" * 5000 + "}",
                           headers=headers)
    assert response.status_code == 422 and "disability_grade" in response.get_json()["errors"]
    response = client.post("/api/v1/children", data='{"version": ' + str(2**70) + "}", headers=headers)
    assert response.status_code == 422 and "version" in response.get_json()["errors"]
    # within 64 bits but beyond the column: the schema's bound
    response = client.post("/api/v1/children", json={"disability_grade": 2**40}, headers=headers)
    assert response.status_code == 422 and "disability_grade" in response.get_json()["errors"]
    response = client.post("/api/v1/children", data='{"name": NaN, "x": Infinity}', headers=headers)
    assert response.status_code == 422
    assert client.post("/api/v1/children", data=b'{"name": "\xff"}', headers=headers).status_code == 400


def test_nul_bytes_and_lone_surrogates_are_field_errors(client, bearer, scoped_sql):
    headers = {**bearer(VILLAGE), "Content-Type": "application/json"}
    before = scoped_sql(COUNTY, "SELECT count(*) FROM children")[0][0]
    for raw in ('{"name": "李\\u0000明", "sex": "male", "birth_date": "2016-03-01"}',
                '{"name": "\\ud800", "sex": "male", "birth_date": "2016-03-01"}',
                '{"name": "李明", "guardians": [{"name": "\\udfff"}], "sex": "male", "birth_date": "2016-03-01"}'):
        response = client.post("/api/v1/children", data=raw, headers=headers)
        assert response.status_code == 422, (raw, response.status_code)
        errors = response.get_json()["errors"]
        assert "name" in errors or "guardians.0.name" in errors, errors
    # a bad key is refused without being echoed (a lone surrogate cannot be written out)
    response = client.post("/api/v1/children", data='{"\\ud800": 1}', headers=headers)
    assert response.status_code == 422 and "_schema" in response.get_json()["errors"]
    response = client.get("/api/v1/children?q=%00", headers=headers)
    assert response.status_code == 422 and "q" in response.get_json()["errors"]
    assert client.get("/api/v1/units/44%00", headers=headers).status_code == 404
    assert client.get("/api/v1/stats/4402%00", headers=headers).status_code == 404
    assert scoped_sql(COUNTY, "SELECT count(*) FROM children")[0][0] == before


def test_nul_in_a_page_form_is_refused_naming_the_field(client, login, make_user):
    login(client, make_user(VILLAGE, "staff").username)
    response = client.post("/children/new", data={"name": "李\x00明", "sex": "male", "birth_date": "2016-03-01"})
    assert response.status_code == 422
    assert "name" in response.get_data(as_text=True)


def test_security_headers_on_every_kind_of_response(client, bearer, login, make_user):
    headers = bearer(COUNTY)
    responses = [client.get("/login"), client.get("/api/v1/me", headers=headers), client.get("/api/v1/nowhere"),
                 client.get("/static/shouhu.css"), client.delete("/api/v1/me", headers=headers)]
    login(client, make_user(COUNTY, "staff").username)
    responses += [client.get("/"), client.get(f"/dashboard/{COUNTY}")]
    for response in responses:
        csp = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, response.request.path
        assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_inline_script_in_any_template():
    """script-src 'self' forbids inline scripts: every <script> either loads a file or is a JSON data block."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "tenant_app"
    offenders = []
    for template in root.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.name}: {tag}")
        if re.search(r"\son[a-z]+\s*=", text) or "javascript:" in text:
            offenders.append(f"{template.name}: inline handler")
    assert offenders == []


def test_uploads_are_judged_by_content_and_served_as_downloads(client, bearer, make_campaign):
    made = make_campaign(issuer=COUNTY)
    issuer = bearer(COUNTY)
    url = f"/api/v1/campaigns/{made.id}/attachments"

    def upload(content: bytes, name: str):
        return client.post(url, headers=issuer, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), name)})

    for content, name in ((b"<html><script>alert(1)</script></html>", "通知.png"),
                          (b"<script>alert(1)</script>", "a.pdf"), (PNG, "photo.jpg"),
                          (b"PK\x03\x04 not really a zip", "表.xlsx"), (b"MZ\x90\x00", "a.doc")):
        response = upload(content, name)
        assert response.status_code == 422, name
        assert "file" in response.get_json()["errors"]
    response = upload(PNG, "照片.png")
    assert response.status_code == 201 and response.get_json()["content_type"] == "image/png"
    download = client.get(f"{url}/{response.get_json()['id']}", headers=bearer(VILLAGE))
    assert download.status_code == 200 and download.data == PNG
    assert download.mimetype == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_attachment_stored_before_the_check_is_served_as_octet_stream(client, bearer, make_campaign):
    made = make_campaign(issuer=COUNTY, attachments=[("旧.png", b"<html>old</html>")])
    detail = client.get(f"/api/v1/campaigns/{made.id}", headers=bearer(VILLAGE)).get_json()
    attachment_id = detail["attachments"][0]["id"]
    download = client.get(f"/api/v1/campaigns/{made.id}/attachments/{attachment_id}", headers=bearer(VILLAGE))
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_child_import_refuses_a_file_that_is_not_a_workbook(client, bearer):
    response = client.post("/api/v1/children/imports", headers=bearer(VILLAGE), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"<html></html>"), "名单.xlsx")})
    assert response.status_code == 422 and "file" in response.get_json()["errors"]


def test_openapi_documents_problem_json_errors_and_bounds(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for name, response in spec["components"]["responses"].items():
        for content_type in response.get("content", {}):
            assert content_type == "application/problem+json", name
    problem = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    child = spec["paths"]["/api/v1/children/{child_id}"]["parameters"][0]["schema"]
    assert (child["minimum"], child["maximum"]) == (1, 2**31 - 1)
    list_params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/children"]["get"]["parameters"]}
    assert list_params["page"]["maximum"] == 10_000 and list_params["per_page"]["maximum"] == 500
    patch = spec["components"]["schemas"]["ChildPatch"]["properties"]["version"]
    assert patch["maximum"] == 2**31 - 1


def test_405_names_the_allowed_methods(client, bearer):
    response = client.delete("/api/v1/me", headers=bearer(COUNTY))
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
