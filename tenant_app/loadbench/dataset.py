"""The data of `shouhu bench load`: a fresh PostgreSQL database with a province, children, users and a campaign.

- The tree: the synthetic province 41 (hierarchy.synthetic: copies of the bundled Shaoguan tree, ~52,000
  villages by default; `villages` sets the size).
- Children: generated (tenant_app.children.demo, set-based) in the province's first city 4101, a copy of
  Shaoguan (10 counties, ~1,470 villages), where the bench's users work.
- Users, inserted set-based with one Argon2 hash: one staff account per village of city 4101 (up to
  `village_users`), one per county of 4101 and a province viewer; API tokens for all of them written directly
  (the 60 logins are measured separately, with accounts of their own).
- A questionnaire campaign issued by the province and published (the real fan-out job) to every village, then
  made past due (yesterday), so the counties' overdue lists are long, as after a deadline.
- Finally a full roll-up rebuild, so every unit has its figures before the run.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hierarchy.citus_schema import via_results
from hierarchy.scope import Scope, apply_db_scope, job_scope

PROVINCE = "41"
CITY = "4101"
PASSWORD = "Bench-load-2026"
TEMPLATE = "holiday_safety"
ANSWERS = {"children_visited": 12, "risks_found": ["溺水隐患"], "risk_count": 1, "notes": "基准测试"}
BUNDLED_REGIONS = Path(__file__).resolve().parent.parent.parent / "hierarchy" / "data"


def _citus_workers(connection) -> list[tuple[str, int]]:
    """The active workers when the server is a Citus coordinator, else []."""
    if not connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")).scalar():
        return []
    return [(host, port) for host, port in connection.execute(text(
        "SELECT node_name, node_port FROM citus_get_active_worker_nodes() ORDER BY node_port"))]


def _on_node(url, host: str, port: int, statements: list[str]) -> None:
    engine = create_engine(make_url(url).set(host=host, port=port), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def create_database(admin_url: str, prefix: str = "shouhu_bench_load", digits: int = 8) -> str:
    """An empty database on the server of `admin_url` (owner or superuser); returns its URL. When that server is
    a Citus coordinator, the database is made on every node, with the extension, its workers registered."""
    name = f"{prefix}_{uuid.uuid4().hex[:digits]}"
    admin = make_url(_driver(admin_url))
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            workers = _citus_workers(connection)
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    url = admin.set(database=name)
    if workers:
        for host, port in workers:
            _on_node(admin, host, port, [f'CREATE DATABASE "{name}"'])
            _on_node(url, host, port, ["CREATE EXTENSION citus"])
        _on_node(url, admin.host or "localhost", admin.port or 5432,
                 ["CREATE EXTENSION citus",
                  f"SELECT citus_set_coordinator_host('{admin.host or 'localhost'}', {admin.port or 5432})",
                  *(f"SELECT citus_add_node('{host}', {port})" for host, port in workers)])
    return url.render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drops the database `create_database` made (on every node of a Citus cluster)."""
    name = make_url(url).database
    admin = make_url(_driver(admin_url))
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            workers = _citus_workers(connection)
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
    for host, port in workers:
        _on_node(admin, host, port, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def release_database(db, admin_url: str, url: str, keep: bool, echo) -> None:
    """The end of a bench: the engine's connections closed, the database dropped unless it is kept."""
    if db.engine is not None:
        db.engine.dispose()
    if keep:
        echo(f"kept database: {url}")
    else:
        drop_database(admin_url, url)


def _driver(url: str) -> str:
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


def _all(db, sql: str, **params):
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text(sql), params).all()


def _exec(db, sql: str, **params) -> int:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text(sql.format(via_results=via_results(connection))), params).rowcount


def load_tree(db, villages: int) -> int:
    from hierarchy.loader import load_regions
    from hierarchy.synthetic import build_synthetic_province

    with tempfile.TemporaryDirectory() as tmp:
        directory = build_synthetic_province(BUNDLED_REGIONS / "shaoguan", Path(tmp), villages_target=villages,
                                             province_code=PROVINCE)
        with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
            apply_db_scope(connection, scope)
            load_regions(connection, [directory])
    return _all(db, "SELECT count(*) FROM units WHERE level = 5")[0][0]


def generate_children(db, n: int) -> int:
    from tenant_app.children.demo import generate_children as generate

    with db.engine.begin() as connection:
        return generate(connection, n, CITY, seed=2026)


def _insert_users(db, rows: list[tuple[str, str, str]], password_hash: str) -> None:
    """rows: (unit code, username, role)."""
    inserted = _exec(db, "INSERT INTO users (region_code, province_code, username, password_hash, role, real_name, "
                         "phone) SELECT u.code, CAST(substr(u.code, 1, 2) AS varchar(2)), u.name, :h, u.role, "
                         "'基准测试', '13800000000' FROM unnest(CAST(:codes AS varchar[]), CAST(:names AS varchar[]), "
                         "CAST(:roles AS varchar[])) AS u(code, name, role){via_results}",
                     h=password_hash, codes=[r[0] for r in rows], names=[r[1] for r in rows],
                     roles=[r[2] for r in rows])
    if inserted != len(rows):
        raise RuntimeError(f"{len(rows) - inserted} bench accounts exist already")


def _issue_tokens(db, usernames: list[str]) -> dict[str, str]:
    tokens = {name: secrets.token_urlsafe(32) for name in usernames}
    hashes = [hashlib.sha256(tokens[name].encode()).hexdigest() for name in usernames]
    _exec(db, "INSERT INTO api_tokens (user_id, region_code, province_code, token_hash, created_at, expires_at, "
              "revoked) SELECT u.id, u.region_code, u.province_code, t.hash, now(), now() + interval '1 day', false "
              "FROM unnest(CAST(:names AS varchar[]), CAST(:hashes AS varchar[])) AS t(name, hash) "
              "JOIN users u ON u.username = t.name{via_results}",
          names=usernames, hashes=hashes)
    return tokens


def create_users(db, village_users: int, logins: int) -> dict:
    from tenant_app.auth.passwords import hash_password

    villages = [r[0] for r in _all(db, "SELECT code FROM units WHERE level = 5 AND NOT retired AND code >= :lo "
                                       "AND code < :hi ORDER BY code LIMIT :n", lo=CITY, hi=CITY + ":",
                                   n=village_users)]
    counties = [r[0] for r in _all(db, "SELECT code FROM units WHERE level = 3 AND NOT retired AND code >= :lo "
                                       "AND code < :hi ORDER BY code", lo=CITY, hi=CITY + ":")]
    rows = [(code, f"bv{code}", "staff") for code in villages]
    rows += [(code, f"bc{code}", "staff") for code in counties]
    rows.append((PROVINCE, "bp41", "viewer"))
    # Accounts of their own for the simultaneous logins, spread over the villages.
    login_names = [f"bl{i:03d}" for i in range(logins)]
    rows += [(villages[i % len(villages)], name, "staff") for i, name in enumerate(login_names)]
    _insert_users(db, rows, hash_password(PASSWORD))
    tokens = _issue_tokens(db, [r[1] for r in rows if not r[1].startswith("bl")])
    return {"villages": [(code, tokens[f"bv{code}"]) for code in villages],
            "counties": [{"code": code, "token": tokens[f"bc{code}"]} for code in counties],
            "province": {"code": PROVINCE, "token": tokens["bp41"]}, "logins": login_names}


def existing_users(db, logins: int) -> dict:
    """The accounts of an earlier run's database (kept with --keep), with fresh tokens; the login accounts get a
    hash of today's parameters, as after their first login. A database kept by `bench requests` has no login
    accounts: they are added, spread over the villages with accounts."""
    from tenant_app.auth.passwords import hash_password

    have = _all(db, "SELECT count(*) FROM users WHERE username LIKE 'bl%'")[0][0]
    if have < logins:
        villages = [r[0] for r in _all(db, "SELECT region_code FROM users WHERE username LIKE 'bv%' ORDER BY "
                                           "username")]
        _insert_users(db, [(villages[i % len(villages)], f"bl{i:03d}", "staff") for i in range(have, logins)],
                      hash_password(PASSWORD))
    _exec(db, "UPDATE users SET password_hash = :h WHERE username LIKE 'bl%'", h=hash_password(PASSWORD))
    rows = _all(db, "SELECT username, region_code FROM users WHERE username LIKE 'b%' ORDER BY username")
    names = [r[0] for r in rows if not r[0].startswith("bl")]
    tokens = _issue_tokens(db, names)
    units = dict(rows)
    return {"villages": [(units[n], tokens[n]) for n in names if n.startswith("bv")],
            "counties": [{"code": units[n], "token": tokens[n]} for n in names if n.startswith("bc")],
            "province": {"code": PROVINCE, "token": tokens["bp41"]},
            "logins": [r[0] for r in rows if r[0].startswith("bl")]}


def existing_campaign(db) -> int:
    return _all(db, "SELECT max(id) FROM campaigns WHERE status = 'open'")[0][0]


# A questionnaire campaign issued by province :p, published by the fan-out job that follows.
CAMPAIGN_INSERT = text(
    "INSERT INTO campaigns (issuer_code, province_code, title, directive, kind, target_level, reviewer_level, "
    "starts_on, due_on, questions, status, task_count, receipt_count, created_at, published_at, version) "
    "VALUES (:p, :province, :title, :directive, :kind, 5, 4, :start, :due, :q, 'publishing', 0, 0, "
    ":now, :now, 1) RETURNING id")


def create_campaign(db) -> int:
    """The province's questionnaire, published by the fan-out job, then past due since yesterday."""
    from tenant_app import clock
    from tenant_app.campaigns.catalog import get_template
    from tenant_app.campaigns.fanout import fan_out_campaign

    template = get_template(TEMPLATE)
    today = clock.today_cst()
    with db.engine.begin() as connection:
        apply_db_scope(connection, Scope.unit(PROVINCE))
        campaign_id = connection.execute(CAMPAIGN_INSERT, {
            "p": PROVINCE, "province": PROVINCE[:2], "title": template["title"], "directive": template["directive"],
            "kind": template["kind"], "start": today - timedelta(days=14), "due": today + timedelta(days=7),
            "q": json.dumps(template["questions"], ensure_ascii=False), "now": clock.now()}).scalar_one()
    with job_scope(PROVINCE):
        fan_out_campaign(campaign_id)
    yesterday = today - timedelta(days=1)
    _exec(db, "UPDATE campaigns SET due_on = :d WHERE id = :c", d=yesterday, c=campaign_id)
    _exec(db, "UPDATE tasks SET due_on = :d WHERE campaign_id = :c", d=yesterday, c=campaign_id)
    _exec(db, "UPDATE campaign_receipts SET due_on = :d WHERE campaign_id = :c AND due_on IS NOT NULL",
          d=yesterday, c=campaign_id)
    return campaign_id


def rebuild_figures(db) -> None:
    from sync.rollup import rebuild

    _exec(db, "DELETE FROM sync_outbox")
    with job_scope(all_tenants=True), db.session_scope() as session:
        rebuild(session.connection())


def village_plan(db, campaign_id: int, villages: list[tuple[str, str]], children_per_village: int = 20) -> list:
    tasks = dict(_all(db, "SELECT region_code, id FROM tasks WHERE campaign_id = :c AND region_code >= :lo "
                          "AND region_code < :hi AND status IN ('pending', 'draft', 'returned')",
                      c=campaign_id, lo=CITY, hi=CITY + ":"))
    children: dict[str, list[int]] = {}
    for code, child_id in _all(db, "SELECT region_code, id FROM (SELECT region_code, id, row_number() OVER "
                                   "(PARTITION BY region_code ORDER BY id) AS n FROM children WHERE region_code "
                                   ">= :lo AND region_code < :hi) AS c WHERE n <= :k", lo=CITY, hi=CITY + ":",
                               k=children_per_village):
        children.setdefault(code, []).append(child_id)
    return [{"code": code, "token": token, "task_id": tasks.get(code), "children": children.get(code, [])}
            for code, token in villages]


def analyze(db) -> None:
    """What autovacuum does after a bulk load, as the tables' owner."""
    engine = db.owner_engine().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()
