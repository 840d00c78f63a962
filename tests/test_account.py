"""My own password: the change page and API (current password required, the usual rules), and the forced
change after an admin chose the password (pages redirect, the API answers 403 with a code)."""

from __future__ import annotations

from tests.conftest import PASSWORD

NEW = "Mine-2026x"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def admin_creates(client, token_for, make_user, username="first_login") -> None:
    admin = make_user("440203", "admin")
    body = {"username": username, "real_name": "新主任", "phone": "13912345678", "role": "staff",
            "unit_code": "440203001002", "password": "Given-2026"}
    assert client.post("/api/v1/users", json=body, headers=token_for(admin.username)).status_code == 201


def test_an_account_an_admin_created_must_change_its_password_first_api(client, make_user, token_for):
    admin_creates(client, token_for, make_user)
    headers = token_for("first_login", "Given-2026")
    held = client.get("/api/v1/children", headers=headers)
    assert held.status_code == 403 and held.mimetype == "application/problem+json"
    assert held.get_json()["code"] == "password_change_required"
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["must_change_password"] is True
    url = "/api/v1/me/password"
    wrong = client.post(url, json={"current_password": "nope-1234", "new_password": NEW}, headers=headers)
    assert wrong.status_code == 422 and list(wrong.get_json()["errors"]) == ["current_password"]
    weak = client.post(url, json={"current_password": "Given-2026", "new_password": "12345678"}, headers=headers)
    assert weak.status_code == 422 and list(weak.get_json()["errors"]) == ["new_password"]
    same = client.post(url, json={"current_password": "Given-2026", "new_password": "Given-2026"}, headers=headers)
    assert same.status_code == 422 and "new_password" in same.get_json()["errors"]
    assert client.get("/api/v1/children", headers=headers).status_code == 403  # nothing changed yet
    other = token_for("first_login", "Given-2026")
    done = client.post(url, json={"current_password": "Given-2026", "new_password": NEW}, headers=headers)
    assert done.status_code == 200 and done.get_json() == {"changed": True, "must_change_password": False}
    # The token used goes on working and is let through now; another token of the old password is revoked.
    assert client.get("/api/v1/children", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "first_login", "password": "Given-2026"}
                       ).status_code == 401
    assert client.get("/api/v1/me", headers=token_for("first_login", NEW)).get_json()["must_change_password"] is False


def test_forced_change_on_the_pages_after_an_admin_reset(client, make_user, token_for, login):
    staff = make_user("440203001", "staff", username="reset_me")
    admin = make_user("440203", "admin")
    assert client.post(f"/api/v1/users/{staff.id}/password", json={"password": "Reset-2026"},
                       headers=token_for(admin.username)).status_code == 200
    login(client, "reset_me", "Reset-2026")
    for path in ("/", "/children", "/tasks", "/notifications"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/password"), path
    page = client.get("/account/password")
    assert page.status_code == 200 and 'id="password-forced"' in text_of(page)
    mismatch = client.post("/account/password", data={"current_password": "Reset-2026", "new_password": NEW,
                                                      "confirm_password": NEW + "x"})
    assert mismatch.status_code == 422 and 'id="confirm_password-errors"' in text_of(mismatch)
    wrong = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW,
                                                   "confirm_password": NEW})
    assert wrong.status_code == 422 and 'id="current_password-errors"' in text_of(wrong)
    done = client.post("/account/password", data={"current_password": "Reset-2026", "new_password": NEW,
                                                  "confirm_password": NEW})
    assert done.status_code == 302
    # This session goes on (under the new epoch), and nothing redirects any more.
    assert client.get("/children").status_code == 200
    assert client.post("/logout").status_code == 302
    other = client.application.test_client()
    assert other.post("/login", data={"username": "reset_me", "password": "Reset-2026"}).status_code == 200
    assert other.post("/login", data={"username": "reset_me", "password": NEW}).status_code == 302
    assert other.get("/children").status_code == 200


def test_changing_my_own_password_when_not_forced_and_other_sessions_end(client, make_user, login):
    user = make_user("440203001002", "staff", username="self_change")
    login(client, "self_change")
    elsewhere = client.application.test_client()
    login(elsewhere, "self_change")
    home = text_of(client.get("/"))
    assert 'id="nav-password"' in home and 'id="password-forced"' not in text_of(client.get("/account/password"))
    weak = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "abcdefgh",
                                                 "confirm_password": "abcdefgh"})
    assert weak.status_code == 422 and 'id="new_password-errors"' in text_of(weak)
    done = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW,
                                                  "confirm_password": NEW})
    assert done.status_code == 302 and client.get("/children").status_code == 200
    # The other browser's session is over.
    assert elsewhere.get("/children").status_code == 302
    assert user.username == "self_change"


def test_an_admin_resetting_its_own_password_is_not_held(client, make_user, token_for):
    admin = make_user("440203", "admin")
    headers = token_for(admin.username)
    assert client.post(f"/api/v1/users/{admin.id}/password", json={"password": "Admin-2026x"},
                       headers=headers).status_code == 200
    fresh = token_for(admin.username, "Admin-2026x")
    assert client.get("/api/v1/users", headers=fresh).status_code == 200
