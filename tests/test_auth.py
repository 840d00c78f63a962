"""Sessions, tokens, disabling, rate limiting, and user management through the API."""

from __future__ import annotations

import pytest


def test_disabled_user_token_stops_at_once(client, make_user, token_for):
    admin = make_user("440203", "admin")
    staff = make_user("440203001", "staff")
    admin_headers, staff_headers = token_for(admin.username), token_for(staff.username)
    assert client.get("/api/v1/me", headers=staff_headers).status_code == 200
    response = client.post(f"/api/v1/users/{staff.id}/disable", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    assert client.get("/api/v1/me", headers=staff_headers).status_code == 401
    again = client.post("/api/v1/auth/token", json={"username": staff.username, "password": "Passw0rd!"})
    assert again.status_code == 401


def test_disabled_user_page_session_stops_at_once(app, make_user, token_for, login):
    admin = make_user("440203", "admin")
    staff = make_user("440203001", "staff")
    browser = app.test_client()
    login(browser, staff.username)
    assert browser.get("/").status_code == 200
    api = app.test_client()
    assert api.post(f"/api/v1/users/{staff.id}/disable", headers=token_for(admin.username)).status_code == 200
    response = browser.get("/")
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]


def test_password_reset_ends_sessions_and_new_password_works(client, make_user, token_for):
    admin = make_user("440203", "admin")
    staff = make_user("440203001", "staff")
    old = token_for(staff.username)
    response = client.post(f"/api/v1/users/{staff.id}/password", json={"password": "NewPassw0rd"},
                           headers=token_for(admin.username))
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=old).status_code == 401
    assert client.get("/api/v1/me", headers=token_for(staff.username, "NewPassw0rd")).status_code == 200


def test_weak_password_is_a_field_error_and_changes_nothing(client, make_user, token_for):
    admin = make_user("440203", "admin")
    staff = make_user("440203001", "staff")
    response = client.post(f"/api/v1/users/{staff.id}/password", json={"password": "short"},
                           headers=token_for(admin.username))
    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]
    token_for(staff.username)  # old password still works


def test_login_failures_are_rate_limited_per_account(app, client, make_user):
    saved = app.config["SHOUHU_LOGIN_ACCOUNT_LIMITS"]
    app.config["SHOUHU_LOGIN_ACCOUNT_LIMITS"] = "3/15 minutes"
    try:
        user = make_user("440203")
        for _ in range(3):
            bad = client.post("/api/v1/auth/token", json={"username": user.username, "password": "wrong-pass1"})
            assert bad.status_code == 401
        blocked = client.post("/api/v1/auth/token", json={"username": user.username, "password": "Passw0rd!"})
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        other = make_user("440203")
        assert client.post("/api/v1/auth/token",
                           json={"username": other.username, "password": "Passw0rd!"}).status_code == 201
    finally:
        app.config["SHOUHU_LOGIN_ACCOUNT_LIMITS"] = saved


def test_login_failures_are_rate_limited_per_client_address(app, client, make_user):
    saved = app.config["SHOUHU_LOGIN_ADDRESS_LIMITS"]
    app.config["SHOUHU_LOGIN_ADDRESS_LIMITS"] = "4/15 minutes"
    try:
        user = make_user("440203")
        for i in range(4):
            client.post("/api/v1/auth/token", json={"username": f"ghost{i}", "password": "wrong-pass1"},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
        blocked = client.post("/api/v1/auth/token", json={"username": user.username, "password": "Passw0rd!"},
                              environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert blocked.status_code == 429
        ok = client.post("/api/v1/auth/token", json={"username": user.username, "password": "Passw0rd!"},
                         environ_base={"REMOTE_ADDR": "10.9.9.8"})
        assert ok.status_code == 201
    finally:
        app.config["SHOUHU_LOGIN_ADDRESS_LIMITS"] = saved


def test_admin_creates_user_in_subtree_and_it_can_log_in(client, make_user, token_for):
    admin = make_user("440203", "admin")
    headers = token_for(admin.username)
    body = {"username": "new_director", "real_name": "李四", "phone": "13912345678", "role": "staff",
            "unit_code": "440203001002", "password": "Director2026"}
    response = client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["unit_code"] == "440203001002"
    assert "password" not in created and "password_hash" not in created
    assert client.get("/api/v1/me", headers=token_for("new_director", "Director2026")).status_code == 200
    listed = client.get("/api/v1/users?unit=440203001", headers=headers).get_json()
    assert "new_director" in {u["username"] for u in listed["items"]}


@pytest.mark.parametrize("field,value", [
    ("username", "x"),
    ("unit_code", "440204"),
    ("unit_code", "999999"),
    ("phone", "call-me"),
    ("password", "12345678"),
    ("real_name", ""),
])
def test_create_user_field_errors_write_nothing(client, make_user, token_for, field, value):
    admin = make_user("440203", "admin")
    headers = token_for(admin.username)
    body = {"username": "candidate_1", "real_name": "王五", "phone": "13912345678", "role": "staff",
            "unit_code": "440203001", "password": "Candidate2026"}
    body[field] = value
    response = client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    listed = client.get("/api/v1/users", headers=headers).get_json()
    assert "candidate_1" not in {u["username"] for u in listed["items"]}


def test_username_taken_outside_the_subtree_is_a_field_error(client, make_user, token_for):
    make_user("340604", "staff", username="taken_name")
    admin = make_user("440203", "admin")
    body = {"username": "taken_name", "real_name": "赵六", "phone": "13912345678", "role": "staff",
            "unit_code": "440203001", "password": "Candidate2026"}
    response = client.post("/api/v1/users", json=body, headers=token_for(admin.username))
    assert response.status_code == 422
    assert "username" in response.get_json()["errors"]


def test_admin_cannot_disable_itself_or_a_peer_admin(client, make_user, token_for):
    admin = make_user("440203", "admin")
    peer = make_user("440203", "admin")
    headers = token_for(admin.username)
    assert client.post(f"/api/v1/users/{admin.id}/disable", headers=headers).status_code == 409
    assert client.post(f"/api/v1/users/{peer.id}/disable", headers=headers).status_code == 403
    boss = make_user("4402", "admin")
    assert client.post(f"/api/v1/users/{peer.id}/disable", headers=token_for(boss.username)).status_code == 200


def test_staff_and_viewer_cannot_manage_users(client, make_user, token_for):
    for role in ("staff", "viewer"):
        user = make_user("440203", role)
        headers = token_for(user.username)
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        assert client.post("/api/v1/users", json={}, headers=headers).status_code == 403


def test_flask_limiter_adds_no_per_request_hooks_while_no_limit_is_declared(app):
    """Logins are throttled on the limiter's storage by tenant_app.auth.throttle (tested above); no route declares
    a limit, so Flask-Limiter's own request hooks, which would find nothing to check, are not installed."""
    from tenant_app import _limits_declared
    from tenant_app.extensions import limiter

    assert not _limits_declared()
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])
    assert all(getattr(f, "args", ()) != (limiter,) for f in app.after_request_funcs.get(None, []))
    assert limiter.limiter is not None  # the storage the login throttling uses is configured
