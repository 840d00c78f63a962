"""The web role cannot widen its own scope (migration 0011).

Raw SQL on the application role's connection: setting `app.scope` to '*' (all tenants) or the old
authentication keys opens nothing; only the jobs role, which requests never run as, sees every tenant; the
scope check accepts only the five code lengths.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

TABLES = ("users", "children", "units", "api_tokens", "sync_outbox", "unit_stats")


def _as_web_role(db_connection, *settings: tuple[str, str]):
    def run(sql: str, **params):
        with db_connection.begin_nested():
            db_connection.execute(text("SELECT set_config('role', 'shouhu_app', true)"))
            for key, value in settings:
                db_connection.execute(text("SELECT set_config(:k, :v, true)"), {"k": key, "v": value})
            return db_connection.execute(text(sql), params).all()
    return run


def test_the_web_role_setting_all_tenants_sees_nothing(db_connection, make_user):
    make_user("440203", "staff")
    run = _as_web_role(db_connection, ("app.scope", "*"))
    assert run("SELECT current_user")[0][0] == "shouhu_app"
    for table in TABLES:
        assert run(f"SELECT count(*) FROM {table}")[0][0] == 0, table
    # The jobs role sees them (what the all-tenants scope is for).
    with db_connection.begin_nested():
        db_connection.execute(text("SELECT set_config('role', 'shouhu_jobs', true), "
                                   "set_config('app.scope', '*', true)"))
        assert db_connection.execute(text("SELECT count(*) FROM users")).scalar() > 0
        assert db_connection.execute(text("SELECT count(*) FROM units")).scalar() > 1000


def test_the_web_role_cannot_open_users_or_tokens_by_the_auth_keys(db_connection, make_user):
    user = make_user("440204001001", "staff")
    run = _as_web_role(db_connection, ("app.scope", "440203"), ("app.auth_username", user.username),
                       ("app.auth_user_id", str(user.id)))
    rows = run("SELECT region_code FROM users")
    assert all(row.region_code.startswith("440203") for row in rows)
    assert run("SELECT count(*) FROM users WHERE id = :id", id=user.id)[0][0] == 0


def test_the_web_role_with_a_unit_scope_sees_that_subtree(db_connection, make_user):
    make_user("440203001", "staff")
    make_user("440204001", "staff")
    rows = _as_web_role(db_connection, ("app.scope", "440203"))("SELECT region_code FROM users")
    assert rows and all(row.region_code.startswith("440203") for row in rows)


@pytest.mark.parametrize("code", ["4402030", "44020", "440", "4402030010", "44020300100", "4402030010021"])
def test_codes_of_other_lengths_open_nothing(db_connection, make_user, code):
    make_user("440203001002", "staff")
    run = _as_web_role(db_connection, ("app.scope", code))
    for table in ("users", "units", "children"):
        assert run(f"SELECT count(*) FROM {table}")[0][0] == 0, (code, table)
    assert run("SELECT shouhu_scope(), shouhu_scope_ancestors()")[0] == ("", [])


def test_the_web_role_cannot_write_figures_or_units_with_all_tenants(db_connection):
    from sqlalchemy.exc import DBAPIError

    run = _as_web_role(db_connection, ("app.scope", "*"))
    with pytest.raises(DBAPIError, match="row-level security"):
        run("INSERT INTO units (code, name, level) VALUES ('449999', 'x', 3) RETURNING code")


def test_authentication_lookups_return_only_id_and_unit(db_connection, make_user):
    user = make_user("440204001001", "staff")
    run = _as_web_role(db_connection, ("app.scope", ""))
    assert run("SELECT user_id, unit_code FROM shouhu_auth_login(:u)", u=user.username) == [
        (user.id, "440204001001")]
    assert run("SELECT shouhu_auth_user_unit(:id)", id=user.id)[0][0] == "440204001001"
    # Nothing else of the user is readable through them, and the table itself stays closed.
    assert run("SELECT count(*) FROM users")[0][0] == 0


def test_login_throttle_left_the_tenant_schema(db_connection):
    assert db_connection.execute(text("SELECT to_regclass('login_throttle')")).scalar() is None


def test_the_token_lookup_answers_only_the_tokens_own_user_and_never_the_password_hash(db_connection, make_user):
    """Migration 0014: one statement authenticates an API request, and it is no wider than the token."""
    user = make_user("440204001001", "staff")
    other = make_user("440204001002", "staff")
    digest = hashlib.sha256(b"a bearer token").hexdigest()
    db_connection.execute(text("INSERT INTO api_tokens (user_id, region_code, token_hash, created_at, expires_at, "
                               "revoked) VALUES (:u, :r, :h, now(), now() + interval '1 hour', false)"),
                          {"u": user.id, "r": user.region_code, "h": digest})
    run = _as_web_role(db_connection, ("app.scope", ""))
    [row] = run("SELECT * FROM shouhu_auth_token(:h)", h=digest)
    assert (row.user_id, row.unit_code, row.username) == (user.id, "440204001001", user.username)
    assert row.unit_name and row.unit_level == 5
    assert "password_hash" not in row._fields and other.username not in {str(v) for v in row}
    assert run("SELECT count(*) FROM shouhu_auth_token(:h)", h=hashlib.sha256(b"a guess").hexdigest())[0][0] == 0
    assert run("SELECT count(*) FROM api_tokens")[0][0] == 0  # the table itself stays closed
