"""The web role cannot widen its own scope (migration 0011).

Raw SQL on the application role's connection: setting `app.scope` to '*' (all tenants) or the old
authentication keys opens nothing; only the jobs role, which requests never run as, sees every tenant; the
scope check accepts only the five code lengths.
"""

from __future__ import annotations

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
