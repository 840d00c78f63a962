"""The isolation matrix: every level and role against every endpoint, and each lock on its own.

1. The API: a user sees and manages exactly its unit's subtree; its ancestors show code, name and level only.
2. Disabling a user or resetting its password ends its existing tokens at once.
3. The database lock alone: raw SQL on the non-owner application role with only `app.scope` set (RLS).
4. The application lock alone: ORM sessions on SQLite, which has no row-level security at all.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hierarchy.codes import ancestors_of, level_of
from hierarchy.models import Unit
from hierarchy.scope import Scope, ScopeViolation, apply_db_scope, job_scope, scoped, tenant_models
from tenant_app.auth.models import ApiToken, User
from tenant_app.auth.passwords import hash_password

REGIONS = Path(__file__).resolve().parent.parent / "hierarchy" / "data"
PASSWORD = "Passw0rd!"
CORE_TENANT_TABLES = ("units", "users", "api_tokens")


@dataclass(frozen=True)
class Seat:
    code: str
    descendants: tuple[str, ...]  # strictly below `code`
    outside: tuple[str, ...]  # a sibling at the same level first, then deeper units of sibling subtrees

    @property
    def ancestors(self) -> list[str]:
        return ancestors_of(self.code)


SEATS = {
    "province": Seat("44", ("4402", "440203001002"), ("34", "3406", "340604001001")),
    "city": Seat("4402", ("440203", "440204001001"), ("3406", "340604", "340604001001")),
    "county": Seat("440203", ("440203001", "440203001002"), ("440204", "440204001", "440204001001")),
    "township": Seat("440203001", ("440203001002",), ("440203002", "440203002001", "440204001")),
    "village": Seat("440203001002", (), ("440203001003", "440203002001", "440204001001")),
}
OTHER_PROVINCE = ("34", "3406", "340604", "340604001", "340604001001")
ROLES = ("admin", "staff", "viewer")
MATRIX = [pytest.param(level, role, id=f"{level}-{role}") for level in SEATS for role in ROLES]


def tenant_tables() -> list[str]:
    """Every table of a tenant-owned model (those with a __scope_column__), including ones added later."""
    import tenant_app.models  # noqa: F401  (registers every model)

    tables = sorted({model.__tablename__ for model in tenant_models()})
    assert set(CORE_TENANT_TABLES) <= set(tables)
    return tables


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def csv_codes() -> set[str]:
    codes = set()
    for tree in ("shaoguan", "liesan"):
        for path in (REGIONS / tree).glob("*.csv"):
            with path.open(encoding="utf-8") as fh:
                codes.update(row["code"] for row in csv.DictReader(fh))
    return codes


@pytest.fixture
def star_sql(db_connection):
    """Raw SQL on the application-role connection with the all-tenants database scope ('*')."""

    def run(sql: str, **params):
        with db_connection.begin_nested():
            apply_db_scope(db_connection, Scope(all_tenants=True))
            return db_connection.execute(text(sql), params).all()

    return run


@pytest.fixture
def bearer(app):
    """bearer(user) -> headers: a token issued by the application's own issue_token, without the password
    check (Argon2 costs ~150 ms a login; the login endpoint itself is used in the tests of part 2)."""
    from tenant_app.auth.services import issue_token
    from tenant_app.db import db

    def issue(user: User) -> dict:
        with app.app_context():
            session = db.new_session()
            try:
                token, _ = issue_token(session, user)
                session.commit()
            finally:
                session.close()
        return {"Authorization": f"Bearer {token}"}

    return issue


@dataclass
class World:
    """Users around one actor, so that a leak in any direction would show."""

    seat: Seat
    actor: User
    peer_admin: User  # another admin of the actor's own unit
    own_staff: User  # a staff member of the actor's own unit
    below: list[User]  # users strictly inside the subtree
    outside: list[User]  # sibling subtrees, the other province, and the actor's ancestors

    @property
    def inside(self) -> list[User]:
        return [self.actor, self.peer_admin, self.own_staff, *self.below]


@pytest.fixture
def world(make_user):
    def build(level: str, role: str) -> World:
        seat = SEATS[level]
        actor = make_user(seat.code, role)
        peer_admin = make_user(seat.code, "admin")
        own_staff = make_user(seat.code, "staff")
        below = [make_user(code, r) for code in seat.descendants for r in ("admin", "staff")]
        outside = [make_user(code, r) for code in seat.outside for r in ("admin", "staff")]
        outside += [make_user(code, "admin") for code in seat.ancestors]
        outside += [make_user("340604001001", "staff")]
        return World(seat, actor, peer_admin, own_staff, below, outside)

    return build


# --- 1. the API matrix ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("level", "role"), MATRIX)
def test_units_matrix(client, world, bearer, level, role):
    w = world(level, role)
    headers = bearer(w.actor)
    seat = w.seat

    for code in (seat.code, *seat.descendants):
        body = client.get(f"/api/v1/units/{code}", headers=headers).get_json()
        assert body["code"] == code
        assert body["level"] == level_of(code).name
        assert {"parent_code", "retired", "counts"} <= body.keys()
        children = client.get(f"/api/v1/units/{code}/children?per_page=500", headers=headers)
        assert children.status_code == 200, (code, children.get_json())
        page = children.get_json()
        assert page["total"] == len(page["items"])
        assert all(item["code"].startswith(code) and len(item["code"]) > len(code) for item in page["items"])
        if level_of(code).name != "village":
            assert page["total"] > 0

    for code in (*seat.outside, *OTHER_PROVINCE):
        for path in (f"/api/v1/units/{code}", f"/api/v1/units/{code}/children"):
            response = client.get(path, headers=headers)
            assert response.status_code == 404, (path, response.get_json())
            assert response.mimetype == "application/problem+json"

    for code in seat.ancestors:
        response = client.get(f"/api/v1/units/{code}", headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        assert set(body) == {"code", "name", "level"}
        assert body["code"] == code and body["level"] == level_of(code).name
        assert client.get(f"/api/v1/units/{code}/children", headers=headers).status_code == 404

    assert client.get("/api/v1/units/4402xx", headers=headers).status_code == 404


@pytest.mark.parametrize(("level", "role"), MATRIX)
def test_users_list_matrix(client, world, bearer, star_sql, level, role):
    w = world(level, role)
    headers = bearer(w.actor)
    seat = w.seat

    if role != "admin":
        for query in ("", f"?unit={seat.code}", f"?unit={seat.outside[0]}", "?unit=34"):
            response = client.get(f"/api/v1/users{query}", headers=headers)
            assert response.status_code == 403, (query, response.get_json())
        return

    response = client.get("/api/v1/users?per_page=500", headers=headers)
    assert response.status_code == 200
    page = response.get_json()
    listed = {item["username"] for item in page["items"]}
    assert page["total"] == len(page["items"])
    assert all(item["unit_code"].startswith(seat.code) for item in page["items"])
    assert {u.username for u in w.inside} <= listed
    assert not {u.username for u in w.outside} & listed
    # Exactly the subtree's users as the database holds them (with every tenant visible).
    expected = {row.username for row in star_sql("SELECT username, region_code FROM users")
                if row.region_code.startswith(seat.code)}
    assert listed == expected

    for code in seat.descendants:
        page = client.get(f"/api/v1/users?unit={code}&per_page=500", headers=headers).get_json()
        assert page["items"] and all(item["unit_code"].startswith(code) for item in page["items"])

    for code in (*seat.outside, *seat.ancestors, "34", "340604001001"):
        response = client.get(f"/api/v1/users?unit={code}", headers=headers)
        assert response.status_code == 404, (code, response.get_json())
        assert "items" not in response.get_json()


@pytest.mark.parametrize(("level", "role"), MATRIX)
def test_users_create_matrix(client, world, bearer, star_sql, level, role):
    w = world(level, role)
    headers = bearer(w.actor)
    seat = w.seat
    target = seat.descendants[0] if seat.descendants else seat.code

    def post(unit_code: str, new_role: str):
        username = _unique("new")
        response = client.post("/api/v1/users", headers=headers, json={
            "username": username, "real_name": "新用户", "phone": "13700000000", "role": new_role,
            "unit_code": unit_code, "password": PASSWORD,
        })
        return username, response

    def exists(username: str) -> bool:
        return bool(star_sql("SELECT 1 FROM users WHERE username = :u", u=username))

    if role != "admin":
        # Only an admin creates users at all: a higher role, the same role, a lower one, anywhere.
        for unit_code in (target, seat.outside[0]):
            for new_role in ROLES:
                username, response = post(unit_code, new_role)
                assert response.status_code == 403, (unit_code, new_role, response.get_json())
                assert not exists(username)
        return

    for unit_code, new_role in ((target, "admin"), (seat.code, "viewer")):  # admin: none higher to grant
        username, response = post(unit_code, new_role)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["unit_code"] == unit_code and body["role"] == new_role and body["username"] == username
        assert exists(username)

    for unit_code in (*seat.outside, *seat.ancestors, "34", "340604001001"):
        username, response = post(unit_code, "staff")
        assert response.status_code == 422, (unit_code, response.get_json())
        assert "unit_code" in response.get_json()["errors"]
        assert not exists(username)

    username, response = post(target, "superadmin")
    assert response.status_code == 422
    assert "role" in response.get_json()["errors"]


@pytest.mark.parametrize(("level", "role"), MATRIX)
def test_user_management_matrix(client, world, bearer, star_sql, level, role):
    w = world(level, role)
    headers = bearer(w.actor)

    def state(user: User):
        return star_sql("SELECT active, password_hash, auth_epoch FROM users WHERE id = :i", i=user.id)[0]

    def attempts(user: User):
        return [
            ("get", client.get(f"/api/v1/users/{user.id}", headers=headers)),
            ("password", client.post(f"/api/v1/users/{user.id}/password", headers=headers,
                                     json={"password": "An0ther-Passw0rd"})),
            ("disable", client.post(f"/api/v1/users/{user.id}/disable", headers=headers)),
        ]

    if role != "admin":
        for user in (w.own_staff, *w.below, w.peer_admin, *w.outside):
            before = state(user)
            for action, response in attempts(user):
                assert response.status_code == 403, (action, user.region_code, response.get_json())
            assert state(user) == before
        return

    for user in w.outside:
        before = state(user)
        for action, response in attempts(user):
            assert response.status_code == 404, (action, user.region_code, user.role, response.get_json())
            assert "username" not in response.get_json()
        assert state(user) == before

    before = state(w.peer_admin)
    for action, response in attempts(w.peer_admin):
        assert response.status_code == 403, (action, response.get_json())
    assert state(w.peer_admin) == before

    assert client.get("/api/v1/users/999999999", headers=headers).status_code == 404

    # Inside the subtree: readable and manageable (one password reset; Argon2 is slow).
    response = client.post(f"/api/v1/users/{w.own_staff.id}/password", headers=headers,
                           json={"password": "An0ther-Passw0rd"})
    assert response.status_code == 200
    assert state(w.own_staff).auth_epoch == 1
    for user in (w.own_staff, *w.below):
        response = client.get(f"/api/v1/users/{user.id}", headers=headers)
        assert response.status_code == 200, (user.region_code, user.role, response.get_json())
        assert response.get_json()["username"] == user.username
        response = client.post(f"/api/v1/users/{user.id}/disable", headers=headers)
        assert response.status_code == 200, (user.region_code, user.role, response.get_json())
        assert response.get_json()["active"] is False
        assert state(user).active is False


# --- 2. disabling and password resets end existing tokens at once ------------------------------------

def test_disable_ends_every_existing_token_at_once(client, make_user, token_for, bearer):
    admin = make_user("4402", "admin")
    staff = make_user("440203001002", "staff")
    bystander = make_user("440203001002", "staff")
    admin_headers = bearer(admin)
    first, second = token_for(staff.username), bearer(staff)
    other = bearer(bystander)
    for headers in (first, second, other):
        assert client.get("/api/v1/me", headers=headers).status_code == 200

    assert client.post(f"/api/v1/users/{staff.id}/disable", headers=admin_headers).status_code == 200

    for headers in (first, second):
        assert client.get("/api/v1/me", headers=headers).status_code == 401
        assert client.get("/api/v1/units/440203001002", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=other).status_code == 200
    assert client.post("/api/v1/auth/token",
                       json={"username": staff.username, "password": PASSWORD}).status_code == 401

    # Enabling again does not bring the old tokens back; a new login works.
    assert client.post(f"/api/v1/users/{staff.id}/enable", headers=admin_headers).status_code == 200
    assert client.get("/api/v1/me", headers=first).status_code == 401
    assert client.get("/api/v1/me", headers=token_for(staff.username)).status_code == 200


def test_disabled_admin_token_stops_managing_at_once(client, make_user, bearer):
    city_admin = make_user("4402", "admin")
    county_admin = make_user("440203", "admin")
    staff = make_user("440203001", "staff")
    county_headers = bearer(county_admin)
    assert client.get(f"/api/v1/users/{staff.id}", headers=county_headers).status_code == 200
    response = client.post(f"/api/v1/users/{county_admin.id}/disable", headers=bearer(city_admin))
    assert response.status_code == 200
    assert client.get(f"/api/v1/users/{staff.id}", headers=county_headers).status_code == 401
    assert client.post(f"/api/v1/users/{staff.id}/disable", headers=county_headers).status_code == 401


def test_password_reset_ends_existing_tokens_at_once(client, make_user, token_for, bearer):
    admin = make_user("440203", "admin")
    staff = make_user("440203001", "viewer")
    old = token_for(staff.username)
    assert client.get("/api/v1/me", headers=old).status_code == 200
    response = client.post(f"/api/v1/users/{staff.id}/password", json={"password": "Fresh-Passw0rd"},
                           headers=bearer(admin))
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=old).status_code == 401
    assert client.post("/api/v1/auth/token",
                       json={"username": staff.username, "password": PASSWORD}).status_code == 401
    assert client.get("/api/v1/me", headers=token_for(staff.username, "Fresh-Passw0rd")).status_code == 200


# --- 3. the database lock alone (row-level security, raw SQL) -----------------------------------------

def test_runs_as_non_owner_role_without_bypass(scoped_sql):
    assert scoped_sql("440203", "SELECT current_user")[0][0] == "shouhu_app"
    rolsuper, rolbypassrls = scoped_sql(
        "440203", "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")[0]
    assert rolsuper is False and rolbypassrls is False
    tables = tenant_tables()
    rows = scoped_sql(None, "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                            "WHERE relname = ANY(:names) AND relkind = 'r'", names=tables)
    assert {row.relname for row in rows} == set(tables)
    for row in rows:
        assert row.relrowsecurity and row.relforcerowsecurity, row.relname
    owners = scoped_sql(None, "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = ANY(:names)",
                        names=tables)
    assert "shouhu_app" not in {row[0] for row in owners}


@pytest.mark.parametrize("scope_code", ["44", "4402", "440203", "440204001", "440203001002", "340604"])
def test_rls_units_are_subtree_plus_ancestors(scoped_sql, star_sql, scope_code):
    visible = {row.code for row in scoped_sql(scope_code, "SELECT code FROM units")}
    everything = {row.code for row in star_sql("SELECT code FROM units")}
    expected = {c for c in everything if c.startswith(scope_code)} | set(ancestors_of(scope_code))
    assert visible == expected
    from_csv = {c for c in csv_codes() if c.startswith(scope_code)} | set(ancestors_of(scope_code))
    assert from_csv <= visible
    assert len(everything) > len(visible)


@pytest.fixture
def tenants(make_user, bearer):
    """Users (each with a token) in the 440203 subtree, its sibling county, its ancestors, the other province."""
    codes = ["440203", "440203001", "440203001002", "440204", "440204001001", "4402", "44", "34",
             "340604001001"]
    users = {code: make_user(code, "staff") for code in codes}
    for user in users.values():
        bearer(user)
    return users


def test_rls_users_and_tokens_are_the_subtree_only(scoped_sql, star_sql, tenants):
    users = scoped_sql("440203", "SELECT * FROM users")
    assert users and all(row.region_code.startswith("440203") for row in users)
    expected = {r.id for r in star_sql("SELECT id, region_code FROM users") if r.region_code.startswith("440203")}
    assert {row.id for row in users} == expected
    assert {tenants[c].id for c in ("440203", "440203001", "440203001002")} <= expected

    tokens = scoped_sql("440203", "SELECT * FROM api_tokens")
    expected = {r.id for r in star_sql("SELECT id, region_code FROM api_tokens")
                if r.region_code.startswith("440203")}
    assert len(tokens) >= 3
    assert all(row.region_code.startswith("440203") for row in tokens)
    assert {row.id for row in tokens} == expected
    token_users = {row.user_id for row in tokens}
    assert not token_users & {tenants[c].id for c in ("440204", "440204001001", "4402", "44", "34")}

    # The join a leak would most likely go through: tokens to users.
    joined = scoped_sql("440203", "SELECT u.region_code FROM api_tokens t JOIN users u ON u.id = t.user_id")
    assert all(row.region_code.startswith("440203") for row in joined)


def test_rls_no_scope_denies_everything(scoped_sql, star_sql, tenants):
    for table in tenant_tables():
        assert scoped_sql(None, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    for table in CORE_TENANT_TABLES:
        assert star_sql(f"SELECT count(*) FROM {table}")[0][0] > 0


def test_rls_malformed_scope_values_deny(db_connection, tenants):
    for value in ("44%", "4402:", "44' OR '1'='1", "**", " 44", "4"):
        with db_connection.begin_nested():
            apply_db_scope(db_connection, Scope())  # clears the auth keys too
            db_connection.execute(text("SELECT set_config('app.scope', :v, true)"), {"v": value})
            for table in tenant_tables():
                count = db_connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                assert count == 0, (value, table)


def test_rls_refuses_writes_outside_the_scope(scoped_sql, star_sql, tenants):
    insert = ("INSERT INTO users (region_code, username, password_hash, role, real_name) "
              "VALUES (:code, :username, 'x', 'staff', '越权') RETURNING id")
    for code in ("440204", "440204001001", "4402", "34"):
        with pytest.raises(DBAPIError, match="row-level security"):
            scoped_sql("440203", insert, code=code, username=_unique("rls"))
    # The outer transaction is still usable, and an insert inside the scope works.
    inside = _unique("rls_ok")
    assert scoped_sql("440203", insert, code="440203001", username=inside)
    assert star_sql("SELECT count(*) FROM users WHERE username LIKE 'rls\\_%' ESCAPE '\\'")[0][0] == 1

    sibling = tenants["440204"]
    update = "UPDATE users SET real_name = '改名' WHERE id = :id RETURNING id"
    assert scoped_sql("440203", update, id=sibling.id) == []
    assert scoped_sql("440203", "UPDATE users SET active = false RETURNING region_code")
    assert star_sql("SELECT real_name, active FROM users WHERE id = :id", id=sibling.id)[0] == (
        sibling.real_name, True)
    # Moving an own user into the sibling's region fails the WITH CHECK.
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql("440203", "UPDATE users SET region_code = '440204' WHERE id = :id",
                   id=tenants["440203001"].id)
    # Tokens: neither forged into another region nor revoked across it.
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql("440203", "INSERT INTO api_tokens (user_id, region_code, token_hash, created_at, expires_at) "
                             "VALUES (:uid, '440204', :h, now(), now() + interval '1 day')",
                   uid=sibling.id, h=uuid.uuid4().hex)
    assert scoped_sql("440203", "UPDATE api_tokens SET revoked = true WHERE user_id = :id RETURNING id",
                      id=sibling.id) == []
    # No scope writes nothing.
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql(None, insert, code="440203", username=_unique("rls"))


def test_rls_units_are_read_only_for_a_unit_scope(scoped_sql, star_sql):
    insert = "INSERT INTO units (code, name, level, parent_code) VALUES (:code, '新村', 5, :parent)"
    for scope_code in ("440203", "44"):
        with pytest.raises(DBAPIError, match="row-level security"):
            scoped_sql(scope_code, insert, code="440203001999", parent="440203001")
    assert scoped_sql("440203", "UPDATE units SET name = 'x' WHERE code = '440203' RETURNING code") == []
    assert scoped_sql("440203", "UPDATE units SET name = 'x' WHERE code = '44' RETURNING code") == []
    assert star_sql("SELECT name FROM units WHERE code = '440203'")[0][0] == "武江区"
    with pytest.raises(DBAPIError):  # no DELETE privilege at all
        scoped_sql("440203", "DELETE FROM users WHERE region_code = '440203'")


# --- 4. the application lock alone (ORM on SQLite: no row-level security) -----------------------------

@pytest.fixture
def sqlite_db(tmp_path):
    from tenant_app.db import Database
    from tenant_app.migrate import upgrade

    url = f"sqlite:///{tmp_path}/isolation.sqlite3"
    upgrade(url)
    database = Database()
    database.configure(url, None)
    codes = ["44", "4402", "440203", "440203001", "440203001002", "440203002", "440204", "440204001",
             "34", "3406", "340604"]
    pw = hash_password(PASSWORD)
    with database.session_scope(Scope(all_tenants=True)) as session:
        for code in codes:
            parent = ancestors_of(code)[-1] if ancestors_of(code) else None
            session.add(Unit(code=code, name=f"单位{code}", level=int(level_of(code)), parent_code=parent))
        session.flush()
        for code in codes:
            user = User(region_code=code, username=f"sq_{code}", role="staff", password_hash=pw,
                        real_name=f"用户{code}", phone="13800000000")
            session.add(user)
            session.flush()
            session.add(ApiToken(user_id=user.id, region_code=code, token_hash=f"h{code}",
                                 expires_at=datetime(2099, 1, 1, tzinfo=UTC)))
    yield database
    database.engine.dispose()


def test_app_lock_alone_filters_selects(sqlite_db):
    assert sqlite_db.dialect == "sqlite"
    with scoped(Scope.unit("440203")):
        session = sqlite_db.new_session()
        try:
            users = session.scalars(select(User)).all()
            assert {u.region_code for u in users} == {"440203", "440203001", "440203001002", "440203002"}
            units = {u.code for u in session.scalars(select(Unit))}
            assert units == {"44", "4402", "440203", "440203001", "440203001002", "440203002"}
            tokens = session.scalars(select(ApiToken)).all()
            assert {t.region_code for t in tokens} == {"440203", "440203001", "440203001002", "440203002"}
            # A filter naming another tenant finds nothing, and so does a primary-key lookup.
            assert session.scalars(select(User).where(User.region_code == "440204")).all() == []
            assert session.get(User, _id_of(sqlite_db, "sq_440204")) is None
            # Joins are filtered on every tenant entity.
            joined = session.execute(select(ApiToken.region_code, User.username).join(User)).all()
            assert {r.region_code for r in joined} == {"440203", "440203001", "440203001002", "440203002"}
            # Proof that the database itself would have shown everything: raw SQL is not filtered here.
            assert session.execute(text("SELECT count(*) FROM users")).scalar() == 11
        finally:
            session.close()


def test_app_lock_alone_filters_a_reusable_statement_under_each_scope(sqlite_db):
    """A statement built once and marked reusable keeps one scoped copy per scope shape: the values of each
    execution's scope still decide the rows, whichever scope ran it before, and no scope still means no rows."""
    from sqlalchemy import bindparam

    from hierarchy.scope import reusable

    statement = reusable(select(User.region_code, Unit.name).join(Unit, Unit.code == User.region_code)
                         .where(User.username.like(bindparam("pattern"))).order_by(User.region_code))
    seen = {}
    for code in ("440203", "440204", "440203001002", "4402", "440203"):
        with scoped(Scope.unit(code)):
            session = sqlite_db.new_session()
            try:
                seen[code] = [r.region_code for r in session.execute(statement, {"pattern": "sq_%"})]
            finally:
                session.close()
        assert seen[code] and all(c.startswith(code) for c in seen[code]), (code, seen[code])
    assert seen["440204"] == ["440204", "440204001"]
    assert seen["440203001002"] == ["440203001002"]
    assert seen["440203"] == ["440203", "440203001", "440203001002", "440203002"]
    session = sqlite_db.new_session()
    try:
        assert session.execute(statement, {"pattern": "sq_%"}).all() == []
    finally:
        session.close()


def _id_of(database, username: str) -> int:
    with database.session_scope(Scope(all_tenants=True), commit=False) as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def test_app_lock_alone_denies_by_default(sqlite_db):
    session = sqlite_db.new_session()
    try:
        assert session.scalars(select(User)).all() == []
        assert session.scalars(select(Unit)).all() == []
        assert session.scalars(select(ApiToken)).all() == []
    finally:
        session.close()


def test_app_lock_alone_refuses_writes_outside_the_scope(sqlite_db):
    with scoped(Scope.unit("440203")):
        session = sqlite_db.new_session()
        try:
            session.add(User(region_code="440204", username="sq_intruder", role="staff", password_hash="x",
                             real_name="越权", phone="1"))
            with pytest.raises(ScopeViolation):
                session.flush()
            session.rollback()
            own = session.scalars(select(User).where(User.username == "sq_440203001")).one()
            own.region_code = "440204"  # moving one's own user out of the subtree
            with pytest.raises(ScopeViolation):
                session.flush()
            session.rollback()
            session.add(User(region_code="440203001002", username="sq_ok", role="staff", password_hash="x",
                             real_name="可以", phone="1"))
            session.commit()
        finally:
            session.close()

    # A sibling's row loaded elsewhere cannot be changed under a unit scope.
    with scoped(Scope(all_tenants=True)):
        session = sqlite_db.new_session()
        sibling = session.scalars(select(User).where(User.username == "sq_440204")).one()
    try:
        with scoped(Scope.unit("440203")):
            sibling.real_name = "改名"
            with pytest.raises(ScopeViolation):
                session.flush()
    finally:
        session.rollback()
        session.close()

    # No scope writes nothing either.
    session = sqlite_db.new_session()
    try:
        session.add(User(region_code="440203", username="sq_none", role="staff", password_hash="x",
                         real_name="无", phone="1"))
        with pytest.raises(ScopeViolation):
            session.flush()
    finally:
        session.rollback()
        session.close()


def test_all_tenants_job_scope_is_refused_in_requests(app):
    with app.test_request_context("/api/v1/me"):
        with pytest.raises(ScopeViolation), job_scope(all_tenants=True):
            pass
        with job_scope("440203") as scope:  # a unit job scope is fine
            assert scope == Scope.unit("440203")
    with job_scope(all_tenants=True) as scope:  # outside a request it is allowed
        assert scope.all_tenants
