"""Test harness: real PostgreSQL (and Redis where needed) at localhost.

The harness creates its own database, migrates it as the owner, loads the Shaoguan and Liesan trees, and
runs the application as the non-owner role, so row-level security is live in every test. Each test runs in
an outer transaction that is rolled back at the end (SQLAlchemy's "join into an external transaction").
Override the servers with SHOUHU_TEST_PG_URL (an owner/superuser URL) and SHOUHU_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hierarchy.scope import Scope, scoped
from tenant_app import create_app
from tenant_app.auth.models import User
from tenant_app.auth.passwords import hash_password
from tenant_app.db import db

PG_URL = os.environ.get("SHOUHU_TEST_PG_URL", "postgresql+psycopg://postgres@localhost:5432/postgres")
REDIS_URL = os.environ.get("SHOUHU_TEST_REDIS_URL", "redis://localhost:6379/15")
REGIONS = Path(__file__).resolve().parent.parent / "hierarchy" / "data"
PASSWORD = "Passw0rd!"


def _require_postgres(url: str):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(
            f"PostgreSQL is required for the test suite and is not reachable at {make_url(url).host}:"
            f"{make_url(url).port or 5432} ({type(exc).__name__}: {exc}). Start it or set SHOUHU_TEST_PG_URL.",
            pytrace=False,
        )
    return engine


def create_test_database(prefix: str = "shouhu_test") -> str:
    """Create an empty database and return its URL (owner = the URL's login role)."""
    admin = _require_postgres(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_test_database(url: str) -> None:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    from tenant_app.migrate import upgrade

    url = create_test_database()
    upgrade(url)
    yield url
    db.engine.dispose() if db.engine is not None else None
    drop_test_database(url)


@pytest.fixture(scope="session")
def _app(pg_url):
    app = create_app({
        "SHOUHU_DATABASE_URL": pg_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "SHOUHU_REDIS_URL": None,
        # Tests read right after other units' writes; tests/test_read_cache.py turns the cache on.
        "SHOUHU_TRACKING_CACHE_SECONDS": 0,
    })
    with app.app_context():
        from tenant_app.cli import load_region_dirs

        load_region_dirs([REGIONS / "shaoguan", REGIONS / "liesan"])
    return app


@pytest.fixture
def db_connection(_app):
    """The test's outer transaction on an application-role connection; rolled back afterwards."""
    connection = db.engine.connect()
    transaction = connection.begin()
    db.bind_override(connection)
    try:
        yield connection
    finally:
        db.bind_override(None)
        transaction.rollback()
        connection.close()


@pytest.fixture
def app(_app, db_connection):
    from tenant_app.extensions import limiter

    with _app.app_context():
        limiter.reset()  # failed logins counted by earlier tests must not throttle this one
    return _app


@pytest.fixture
def client(app):
    return app.test_client()


_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


@pytest.fixture
def make_user(app):
    """Factory: make_user(unit_code, role="staff", username=None, password=PASSWORD, ...) -> User."""
    counter = iter(range(1, 10_000))

    def make(unit_code: str, role: str = "staff", username: str | None = None, password: str = PASSWORD,
             real_name: str | None = None, phone: str = "13800000000", active: bool = True,
             org_kind: str | None = None, org_name: str = "") -> User:
        username = username or f"u{unit_code}_{role}_{next(counter)}"
        if role == "reporter":  # a partner account always names its organisation
            org_kind, org_name = org_kind or "school", org_name or "测试小学"
        with scoped(Scope(all_tenants=True)):
            session = db.new_session()
            user = User(region_code=unit_code, username=username, role=role, password_hash=_hash(password),
                        real_name=real_name or f"测试{username}", phone=phone, active=active,
                        org_kind=org_kind, org_name=org_name)
            session.add(user)
            session.commit()
            session.close()
        return user

    return make


@pytest.fixture
def token_for(client):
    """Factory: token_for(username, password=PASSWORD) -> {"Authorization": "Bearer …"}."""

    def get(username: str, password: str = PASSWORD) -> dict:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return get


@pytest.fixture
def login():
    """Log a test client in through the login page."""

    def do(client, username: str, password: str = PASSWORD):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture
def scoped_sql(db_connection):
    """Run raw SQL on the application-role connection with the database scope of a unit (RLS only)."""
    from hierarchy.scope import apply_db_scope

    def run(unit_code: str | None, sql: str, **params):
        scope = Scope.unit(unit_code) if unit_code else Scope()
        with db_connection.begin_nested():
            apply_db_scope(db_connection, scope)
            return db_connection.execute(text(sql), params).all()

    return run


# --- a real server for browser tests (committed data, not rolled back) ------------------------------

@pytest.fixture(scope="session")
def live_users(_app):
    """Committed users for browser tests: {key: username}; password PASSWORD."""
    wanted = {"county": ("440203", "staff"), "village": ("440203001002", "staff"),
              "province": ("44", "staff"), "township": ("440203001", "staff")}
    users = {}
    with _app.app_context(), db.session_scope(Scope(all_tenants=True)) as session:
        for key, (code, role) in wanted.items():
            username = f"live_{key}_{uuid.uuid4().hex[:6]}"
            session.add(User(region_code=code, username=username, role=role, password_hash=_hash(PASSWORD),
                             real_name=f"浏览器{key}", phone="13900000000"))
            users[key] = username
    return users


@pytest.fixture(scope="session")
def live_server(_app, live_users):
    from werkzeug.serving import make_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server("127.0.0.1", port, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def redis_url():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis is required for this test and is not reachable at {REDIS_URL} ({exc}). "
                    "Start it or set SHOUHU_TEST_REDIS_URL.", pytrace=False)
    client.flushdb()
    return REDIS_URL
