"""`shouhu bench country`: a synthetic country on one PostgreSQL server, timed step by step.

The country: `provinces` provinces (31 at full size, with the real province codes), each a synthetic copy of the
bundled Shaoguan tree (hierarchy.synthetic) holding its share of `villages` (680,000 at full size), and `children`
(7,000,000 at full size) generated set-based, each province its share. A smaller run prints its scale factor.

The steps, each on a database of its own that is dropped at the end (unless kept):
- load: the tree (all provinces in one `regions load`) and the children;
- the full roll-up (every unit's figures recomputed from the source rows);
- the fan-out of a national campaign: each province issues the same questionnaire to its villages, published by
  the real fan-out job, province after province as one server runs them;
- a province's progress and a county's children list: API requests through the application, as the province's
  viewer and the county's staff, timed over `runs` requests (p50, p95);
- a recount of the first province's figures (sync.rollup.verify): the roll-up at this size is checked, not only
  timed.

These are the single server's figures of the comparison with a Citus cluster (deploy/citus/README.md).
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from hierarchy.scope import Scope, apply_db_scope, job_scope
from tenant_app.loadbench import dataset

# The 31 provinces of the mainland, by their division codes.
PROVINCE_CODES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
                  "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")
FULL_VILLAGES = 680_000
FULL_CHILDREN = 7_000_000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def _shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` whole shares that add up to it."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def load_tree(db, codes: tuple[str, ...], villages: int) -> int:
    from hierarchy.loader import load_regions
    from hierarchy.synthetic import build_synthetic_province

    with tempfile.TemporaryDirectory() as tmp:
        directories = [
            build_synthetic_province(dataset.BUNDLED_REGIONS / "shaoguan", Path(tmp) / code, villages_target=share,
                                     province_code=code, name=f"合成省{code}")
            for code, share in zip(codes, _shares(villages, len(codes)), strict=True)]
        with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
            apply_db_scope(connection, scope)
            load_regions(connection, directories)
    return dataset._all(db, "SELECT count(*) FROM units WHERE level = 5")[0][0]


def generate_children(db, codes: tuple[str, ...], children: int) -> int:
    from tenant_app.children.demo import generate_children as generate

    made = 0
    for i, (code, share) in enumerate(zip(codes, _shares(children, len(codes)), strict=True)):
        with db.engine.begin() as connection:
            made += generate(connection, share, code, seed=2026 + i)
    return made


def national_campaign(db, codes: tuple[str, ...]) -> dict[str, int]:
    """Each province issues the holiday questionnaire to its villages; the fan-out job publishes each. Returns
    {province code: campaign id}."""
    from tenant_app import clock
    from tenant_app.campaigns.catalog import get_template
    from tenant_app.campaigns.fanout import fan_out_campaign

    template = get_template(dataset.TEMPLATE)
    today = clock.today_cst()
    campaigns = {}
    for code in codes:
        with db.engine.begin() as connection:
            apply_db_scope(connection, Scope.unit(code))
            campaigns[code] = connection.execute(dataset.CAMPAIGN_INSERT, {
                "p": code, "province": code[:2], "title": template["title"], "directive": template["directive"],
                "kind": template["kind"], "start": today, "due": today + timedelta(days=14),
                "q": json.dumps(template["questions"], ensure_ascii=False), "now": clock.now()}).scalar_one()
        with job_scope(code):
            fan_out_campaign(campaigns[code])
    return campaigns


def _accounts(db, province: str) -> dict[str, str]:
    """A viewer of `province` and a staff account of its first county, with API tokens."""
    from tenant_app.auth.passwords import hash_password

    county = dataset._all(db, "SELECT min(code) FROM units WHERE level = 3 AND code >= :lo AND code < :hi",
                          lo=province, hi=province + ":")[0][0]
    dataset._insert_users(db, [(province, f"cp{province}", "viewer"), (county, f"cc{county}", "staff")],
                          hash_password(dataset.PASSWORD))
    tokens = dataset._issue_tokens(db, [f"cp{province}", f"cc{county}"])
    return {"province": tokens[f"cp{province}"], "county": tokens[f"cc{county}"], "county_code": county}


def _timed_requests(client, path: str, token: str, runs: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # warm-up: statement caches, the first connection
        client.get(path, headers=headers)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.get_data(True)[:300]}")
    return {"p50_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95), "bytes": len(response.data)}


def _measure(admin_url: str, label: str, codes: tuple[str, ...], villages: int, children: int, runs: int,
             keep: bool, say) -> dict:
    """Every step on a new database of the server of `admin_url` (every node of a Citus cluster)."""
    from sync.rollup import verify
    from tenant_app import create_app
    from tenant_app.db import db
    from tenant_app.migrate import upgrade

    url = dataset.create_database(admin_url)
    say("database", f"{make_url(url).database} ({label}; " + ("kept at the end)" if keep else "dropped at the end)"))
    figures: dict = {}

    def step(name: str, work, describe):
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        figures[name] = {"s": seconds, "result": result}
        say(name, f"{seconds:8.1f} s   {describe(result, seconds)}")
        return result

    try:
        upgrade(url)
        # Every request is answered afresh: the tracking cache would time a dictionary look-up.
        app = create_app({"SHOUHU_DATABASE_URL": url, "SHOUHU_REDIS_URL": None,
                          "SHOUHU_TRACKING_CACHE_SECONDS": 0})
        with app.app_context():
            db.configure(url, app.config["SHOUHU_DB_APP_ROLE"])
            step("load: tree", lambda: load_tree(db, codes, villages),
                 lambda n, s: f"{n:,} villages, {n / s:,.0f} villages/s")
            step("load: children", lambda: generate_children(db, codes, children),
                 lambda n, s: f"{n:,} children, {n / s:,.0f} rows/s")
            dataset.analyze(db)
            step("full roll-up", lambda: dataset.rebuild_figures(db),
                 lambda _n, _s: "every unit's figures recomputed from the source rows")
            campaigns = step("fan-out of a national campaign", lambda: national_campaign(db, codes),
                             lambda c, s: f"{len(c)} provinces' campaigns published")
            tasks = dataset._all(db, "SELECT count(*) FROM tasks")[0][0]
            say("", f"{'':8}     {tasks:,} village tasks, {tasks / figures['fan-out of a national campaign']['s']:,.0f}"
                    " tasks/s")
            figures["tasks"] = tasks
            dataset.analyze(db)
            province = codes[0]
            accounts = _accounts(db, province)
            client = app.test_client()
            progress = _timed_requests(client, f"/api/v1/campaigns/{campaigns[province]}/progress?unit={province}",
                                       accounts["province"], runs)
            listing = _timed_requests(client, "/api/v1/children", accounts["county"], runs)
            figures["province progress"], figures["county children list"] = progress, listing
            say("a province's progress", f"p50 {progress['p50_ms']:.1f} ms, p95 {progress['p95_ms']:.1f} ms "
                                         f"({runs} requests, province {province})")
            say("a county's children list", f"p50 {listing['p50_ms']:.1f} ms, p95 {listing['p95_ms']:.1f} ms "
                                            f"({runs} requests, county {accounts['county_code']}, first page)")
            with job_scope(all_tenants=True), db.session_scope(commit=False) as session:
                problems = verify(session.connection(), province)
            figures["recount_differences"] = len(problems)
            say("recount", f"province {province}: " + ("figures equal a recount" if not problems else
                                                       f"DIFFERS: {len(problems)} figures, e.g. {problems[:3]}"))
        if problems:
            raise RuntimeError(f"{label}: the roll-up's figures differ from a recount")
        return figures
    finally:
        dataset.release_database(db, admin_url, url, keep, lambda line: say("", line))


COMPARED = ("load: tree", "load: children", "full roll-up", "fan-out of a national campaign")
COMPARED_REQUESTS = ("province progress", "county children list")


def _compare(single: dict, citus: dict, say) -> dict:
    """Citus / single server for each step (seconds) and each request (p50): below 1 Citus is faster."""
    ratios = {}
    for name in COMPARED:
        ratios[name] = citus[name]["s"] / single[name]["s"]
        say(name, f"{single[name]['s']:8.1f} s  {citus[name]['s']:8.1f} s   × {ratios[name]:.2f}")
    for name in COMPARED_REQUESTS:
        ratios[name] = citus[name]["p50_ms"] / single[name]["p50_ms"]
        say(name, f"{single[name]['p50_ms']:7.1f} ms {citus[name]['p50_ms']:7.1f} ms   × {ratios[name]:.2f} (p50)")
    return ratios


def cluster_shape(citus_url: str) -> dict:
    """The workers of the Citus cluster and the shard count of a distributed table."""
    from sqlalchemy import create_engine, text

    engine = create_engine(dataset._driver(citus_url))
    try:
        with engine.connect() as connection:
            workers = connection.execute(text("SELECT count(*) FROM citus_get_active_worker_nodes()")).scalar()
            shards = connection.execute(text("SHOW citus.shard_count")).scalar()
    finally:
        engine.dispose()
    return {"workers": workers, "shard_count": int(shards)}


def bench_country(admin_url: str, *, provinces: int, villages: int, children: int, runs: int, keep: bool = False,
                  citus_url: str | None = None, echo=print) -> dict:
    """The country on the server of `admin_url` and, given `citus_url` (a coordinator), on the Citus cluster too,
    with the ratio of each figure. Returns {"single server": figures, "Citus": figures, "ratios": …}."""
    say = lambda key, value: echo(f"{key:<34} {value}")  # noqa: E731
    codes = PROVINCE_CODES[:provinces]
    say("scale", f"{provinces} provinces; villages {villages:,} of {FULL_VILLAGES:,} ({villages / FULL_VILLAGES:.3f}"
                 f"); children {children:,} of {FULL_CHILDREN:,} ({children / FULL_CHILDREN:.3f})")
    result = {}
    say("", "-- single PostgreSQL server --")
    result["single server"] = _measure(admin_url, "single PostgreSQL server", codes, villages, children, runs,
                                       keep, say)
    if citus_url:
        shape = cluster_shape(citus_url)
        say("", f"-- Citus: a coordinator and {shape['workers']} workers, {shape['shard_count']} shards per table, "
                "distributed by province --")
        result["Citus"] = _measure(citus_url, "Citus cluster", codes, villages, children, runs, keep, say)
        say("", "-- Citus / single server (below 1: Citus is faster) --")
        result["ratios"] = _compare(result["single server"], result["Citus"], say)
        result["cluster"] = shape
    return result
