"""An API request on Citus: the bearer token's look-up sets the caller's scope in the same statement with
set_config(), which stays on the coordinator; on Citus the scope is set again with SET LOCAL
(tenant_app.auth.services.load_token_user), so a read across the shards sees exactly the caller's village."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import create_engine, text

from hierarchy.scope import scoped
from tenant_app import create_app
from tenant_app.db import db
from tenant_app.migrate import upgrade
from tests.citus.conftest import TABLE, probe_rows
from tests.conftest import REGIONS

VILLAGE = "440203001002"


def _app_with_a_village_director(citus_url) -> tuple[object, str]:
    upgrade(citus_url)  # the application's schema on the coordinator
    app = create_app({"SHOUHU_DATABASE_URL": citus_url, "TESTING": True, "SHOUHU_REDIS_URL": None,
                      "SECRET_KEY": "citus-test", "WTF_CSRF_ENABLED": False})
    token = secrets.token_urlsafe(32)
    owner = create_engine(citus_url)
    try:
        with app.app_context():
            from hierarchy.loader import load_regions
            from hierarchy.scope import Scope, apply_db_scope

            with owner.connect() as connection:
                loaded = connection.execute(text("SELECT count(*) FROM units WHERE code = :c"), {"c": VILLAGE})
                if not loaded.scalar():
                    # The tree alone (a reference table on Citus): the token's look-up needs the user's unit.
                    with db.engine.begin() as scoped_connection, scoped(Scope(all_tenants=True)) as scope:
                        apply_db_scope(scoped_connection, scope)
                        load_regions(scoped_connection, [REGIONS / "shaoguan"])
        with owner.begin() as connection:
            connection.execute(text("DELETE FROM api_tokens WHERE user_id IN "
                                    "(SELECT id FROM users WHERE username = 'citus_director')"))
            connection.execute(text("DELETE FROM users WHERE username = 'citus_director'"))
            user_id = connection.execute(text(
                "INSERT INTO users (region_code, province_code, username, password_hash, role, real_name) "
                "VALUES (:v, :p, 'citus_director', 'x', 'staff', '主任') RETURNING id"),
                {"v": VILLAGE, "p": VILLAGE[:2]}).scalar()
            connection.execute(text(
                "INSERT INTO api_tokens (user_id, region_code, province_code, token_hash, created_at, expires_at, "
                "revoked) VALUES (:u, :v, :p, :h, now(), now() + interval '1 hour', false)"),
                {"u": user_id, "v": VILLAGE, "p": VILLAGE[:2], "h": hashlib.sha256(token.encode()).hexdigest()})
    finally:
        owner.dispose()
    return app, token


def test_a_token_requests_scope_reaches_the_workers(citus_url, probe_table):
    app, token = _app_with_a_village_director(citus_url)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with app.test_request_context("/api/v1/me", headers=headers):
            from tenant_app.auth.services import load_token_user

            user = load_token_user(db.session, token)
            assert user is not None and user.username == "citus_director"
            with scoped(user.scope):  # as the request's before_request does; the scope is set already
                seen = db.session.execute(text(f"SELECT region_code FROM {TABLE}")).scalars().all()
            assert sorted(seen) == sorted(r for _p, r in probe_rows() if r == VILLAGE)
            db.session.rollback()
        # The whole request too: authenticated, scoped, answered.
        response = app.test_client().get("/api/v1/me", headers=headers)
        assert response.status_code == 200, response.get_data(True)
        assert response.get_json()["username"] == "citus_director"
    finally:
        if db.engine is not None:
            db.engine.dispose()
