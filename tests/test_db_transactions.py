"""How a request's transaction ends on PostgreSQL: a read ends with COMMIT, so the driver keeps its prepared
statements (psycopg drops all of them on ROLLBACK); a transaction that wrote, or holds unflushed changes, is
rolled back unless the request committed it. Runs on committed data (no outer test transaction)."""

from __future__ import annotations

from sqlalchemy import event, text

from hierarchy.scope import Scope
from tenant_app.auth.models import User
from tenant_app.db import db, read_only
from tests.conftest import PASSWORD


def _token(client, username: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


def test_read_only_knows_reads_from_writes(_app):
    with _app.app_context():
        with db.session_scope(Scope.unit("440203"), commit=False) as session:
            session.execute(text("SELECT 1"))
            assert read_only(session)
            session.execute(text("UPDATE units SET name = name WHERE code = '440203'"))
            assert not read_only(session)
        with db.session_scope(Scope.unit("440203"), commit=False) as session:
            session.execute(text("SELECT count(*) FROM users"))
            assert read_only(session)
            session.add(User(region_code="440203", username="never_written", role="viewer", password_hash="x"))
            assert not read_only(session), "an unflushed change must never be committed at the request's end"


def test_reads_end_with_commit_and_keep_prepared_statements(_app, live_users):
    client = _app.test_client()  # each request below has an application context of its own
    token = _token(client, live_users["county"])
    db.engine.dispose()  # one fresh pooled connection serves the sequential requests below
    ends = {"commit": 0, "rollback": 0}
    on_commit = lambda conn: ends.__setitem__("commit", ends["commit"] + 1)  # noqa: E731
    on_rollback = lambda conn: ends.__setitem__("rollback", ends["rollback"] + 1)  # noqa: E731
    event.listen(db.engine, "commit", on_commit)
    event.listen(db.engine, "rollback", on_rollback)
    try:
        for _ in range(8):
            assert client.get("/api/v1/children", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert ends == {"commit": 8, "rollback": 0}
        with db.engine.connect() as connection:
            prepared = connection.execute(text(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM children%'")).scalar()
        assert prepared >= 1, "the children list was not kept prepared across requests"
    finally:
        event.remove(db.engine, "commit", on_commit)
        event.remove(db.engine, "rollback", on_rollback)


def test_scope_ancestors_in_the_database(db_connection):
    """The policies' ancestor list (migration 0016 made it one inlined expression): strict prefixes of the five
    code lengths for a unit code, nothing for anything else, '*' included for the application role."""
    expected = {"44": [], "4402": ["44"], "440203": ["44", "4402"], "440203001": ["44", "4402", "440203"],
                "440203001002": ["44", "4402", "440203", "440203001"], "*": [], "": [], "4402031": [],
                "44x": [], "44' OR '1'='1": []}
    for scope, ancestors in expected.items():
        got = db_connection.execute(text("SELECT set_config('app.scope', :s, true), shouhu_scope_ancestors()"),
                                    {"s": scope}).one()[1]
        assert got == ancestors, scope


def _scope_after_token(app, header: dict) -> tuple:
    from tenant_app.auth.services import load_token_user

    with app.test_request_context("/api/v1/me"):
        session = db.session
        user = load_token_user(session, header["Authorization"][7:])
        user_id = user.id if user is not None else None
        # On the connection itself: an ORM statement would first align the database scope with the application's.
        scope, role = session.connection().exec_driver_sql(
            "SELECT current_setting('app.scope', true), current_user").one()
        session.rollback()
    return user_id, scope, role


def test_a_valid_token_opens_its_units_scope_in_the_same_statement(app, make_user, token_for):
    """The token lookup sets the database scope of the caller's unit (one round trip per API request), and
    nothing for a token the application refuses."""
    user = make_user("440203001")
    header = token_for(user.username)
    found, scope, role = _scope_after_token(app, header)
    assert found == user.id
    assert (scope, role) == ("440203001", "shouhu_app")

    with db.session_scope(Scope(all_tenants=True)) as session:
        session.execute(text("UPDATE api_tokens SET revoked = true WHERE user_id = :u"), {"u": user.id})
    found, scope, role = _scope_after_token(app, header)
    assert found is None
    assert scope in ("", None), "a refused token must not open its unit's rows in the database"
