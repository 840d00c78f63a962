"""The `shouhu` command: database, regions, users, demo data, serving, workers, benchmarks."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from hierarchy.scope import Scope, job_scope
from sync import queues as job_queues
from tenant_app.db import db

BUNDLED_REGIONS = Path(__file__).resolve().parent.parent / "hierarchy" / "data"
DEMO_PASSWORD = "Shouhu2026"


def _create_app(*args, **kwargs):
    from tenant_app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main():
    """Shouhu operator commands."""


def register(app) -> None:
    """Nothing app-specific to register: commands live on the `main` group."""


# --- database --------------------------------------------------------------------------------------

@main.group("db")
def db_group():
    """Database schema (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision):
    """Apply migrations (runs as the URL's own role, the tables' owner)."""
    from tenant_app.migrate import upgrade

    upgrade(current_app.config["SHOUHU_DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


# --- regions ---------------------------------------------------------------------------------------

@main.group("regions")
def regions_group():
    """The administrative tree."""


def load_region_dirs(directories: list[Path]):
    from hierarchy.loader import load_regions
    from hierarchy.scope import apply_db_scope
    from tenant_app.campaigns.fanout import join_open_campaigns

    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        report = load_regions(connection, directories)
        # Units that appeared in this load receive the open campaigns of the units above them.
        joined = join_open_campaigns(connection)
        if report.changed:
            # Every unit of the loaded provinces gets its figures now (set-based, level by level), so a
            # province counts all its villages before any change has touched them.
            from sync import rollup

            for province in report.touched:
                rollup.rebuild(connection, province)
    if joined["tasks"]:
        from sync.outbox import request_drain

        request_drain()
    return report


@regions_group.command("load")
@click.argument("directories", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False,
                                                                          path_type=Path))
@with_appcontext
def regions_load(directories):
    """Load official division CSVs (provinces, cities, areas, streets, villages) from DIR(s)."""
    from hierarchy.loader import RegionLoadError

    try:
        report = load_region_dirs(list(directories))
    except RegionLoadError as exc:
        click.echo(f"refused, nothing applied:\n{exc}", err=True)
        sys.exit(1)
    click.echo(str(report))


# --- users -----------------------------------------------------------------------------------------

@main.group("users")
def users_group():
    """Users."""


@users_group.command("create")
@click.option("--unit", "unit_code", required=True, help="division code of the user's unit")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "viewer"]))
@click.option("--real-name", default="")
@click.option("--phone", default="")
@with_appcontext
def users_create(unit_code, username, role, real_name, phone):
    """Create a user; the password is read from a prompt, or from stdin when it is not a terminal."""
    from tenant_app.errors import ValidationFailed
    from tenant_app.users.services import bootstrap_user

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        with db.session_scope(Scope(all_tenants=True)) as session:
            user = bootstrap_user(session, unit_code=unit_code, username=username, role=role,
                                  password=password, real_name=real_name, phone=phone)
            click.echo(f"created {user.username} ({user.role}) at {user.region_code}")
    except ValidationFailed as exc:
        for field, messages in (exc.errors or {}).items():
            click.echo(f"{field}: {'; '.join(messages)}", err=True)
        sys.exit(1)


# --- demo ------------------------------------------------------------------------------------------

DEMO_LEVELS = (("prov", 2), ("county", 6), ("town", 9), ("village", 12))


def create_demo_users(region: str = "440203") -> list[tuple[str, str, str, str]]:
    """Admin and staff users at province, county, township and village level under the given county."""
    from hierarchy.models import Unit
    from tenant_app.auth.models import User
    from tenant_app.users.services import bootstrap_user

    created = []
    with db.session_scope(Scope(all_tenants=True)) as session:
        village = session.scalars(
            select(Unit.code).where(Unit.code.like(f"{region}%"), Unit.level == 5, Unit.retired.is_(False))
            .order_by(Unit.code)
        ).first()
        if village is None:
            raise click.ClickException(f"no villages under {region}: load the regions first")
        for prefix, length in DEMO_LEVELS:
            code = village[:length]
            unit = session.get(Unit, code)
            for role in ("admin", "staff"):
                username = f"{prefix}_{role}"
                if session.scalar(select(User.id).where(User.username == username)) is None:
                    bootstrap_user(session, unit_code=code, username=username, role=role,
                                   password=DEMO_PASSWORD, real_name=f"演示{unit.name}{role}",
                                   phone="13800000000")
                created.append((username, role, code, unit.name))
        # The county's education bureau, a partner department (horizontal links: its rolls and match results).
        county = session.get(Unit, village[:6])
        if session.scalar(select(User.id).where(User.username == "county_edu")) is None:
            from tenant_app.auth.passwords import hash_password

            session.add(User(username="county_edu", role="department", region_code=county.code,
                             real_name=f"演示{county.name}教育局", phone="13800000000", org_kind="education",
                             org_name=f"{county.name}教育局", password_hash=hash_password(DEMO_PASSWORD)))
            session.flush()
        created.append(("county_edu", "department", county.code, county.name))
    return created


@main.group("demo")
def demo_group():
    """Demo data."""


@demo_group.command("setup")
@with_appcontext
def demo_setup():
    """Migrate, load the bundled Shaoguan tree and create demo users (idempotent)."""
    from tenant_app.migrate import upgrade

    upgrade(current_app.config["SHOUHU_DATABASE_URL"])
    click.echo(str(load_region_dirs([BUNDLED_REGIONS / "shaoguan"])))
    click.echo(f"demo users (password {DEMO_PASSWORD}):")
    for username, role, code, name in create_demo_users():
        click.echo(f"  {username:16} {role:6} {code:12} {name}")
    _generate_demo_children()


DEMO_CHILDREN = 600
DEMO_CHILDREN_UNIT = "440203001"  # the demo township: its villages get records to browse


def _generate_demo_children() -> None:
    """Give the demo township some child records, once."""
    from sqlalchemy import func

    from tenant_app.children.demo import generate_children
    from tenant_app.children.models import Child

    with db.session_scope(Scope(all_tenants=True), commit=False) as session:
        existing = session.scalar(select(func.count()).select_from(Child))
    if existing:
        return
    with db.engine.begin() as connection:
        count = generate_children(connection, DEMO_CHILDREN, DEMO_CHILDREN_UNIT)
    _request_drain()
    click.echo(f"demo children: {count} synthetic records under {DEMO_CHILDREN_UNIT}")


@demo_group.command("up")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.pass_context
def demo_up(ctx, host, port):
    """Set up the demo (as `demo setup`) and serve it."""
    ctx.invoke(demo_setup)
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()
    click.echo(f"Shouhu is running at http://{host}:{port}/  (Ctrl-C stops it)")
    # Flask's app.run() refuses to start under the `flask`-style CLI, so serve with werkzeug directly.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


# --- serving ---------------------------------------------------------------------------------------

@main.command("serve", context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(gunicorn_args):
    """Start gunicorn for production with deploy/gunicorn.conf.py."""
    root = Path(__file__).resolve().parent.parent
    # The gunicorn of this interpreter's environment, not whatever PATH finds: systemd runs the venv's `shouhu`
    # without the venv on PATH.
    args = [sys.executable, "-m", "gunicorn", "-c", str(root / "deploy" / "gunicorn.conf.py"), "--chdir",
            str(root), *gunicorn_args, "wsgi:app"]
    os.execv(sys.executable, args)


# --- workers ---------------------------------------------------------------------------------------

@main.command("worker")
@click.option("--queues", "queue_names", default=",".join(job_queues.ALL))
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@click.option("--catch-up-seconds", default=30.0, type=click.FloatRange(min=0.5),
              help="how often to look for outbox rows that no drain was queued for")
@with_appcontext
def worker(queue_names, burst, catch_up_seconds):
    """Start an RQ worker (with its scheduler) on SHOUHU_REDIS_URL; it also drains the outbox left by
    outages (at start, every 30 s, and as soon as Redis is back) and queues the nightly rebuild after 00:05 CST."""
    from sync.worker import run_worker

    url = current_app.config["SHOUHU_REDIS_URL"]
    if not url:
        raise click.ClickException("SHOUHU_REDIS_URL is not set: without Redis, jobs run inline")
    run_worker(url, queue_names.split(","), database_url=current_app.config["SHOUHU_DATABASE_URL"],
               app_role=current_app.config.get("SHOUHU_DB_APP_ROLE"),
               jobs_role=current_app.config.get("SHOUHU_DB_JOBS_ROLE"), burst=burst, interval=catch_up_seconds)


# --- upward sync -----------------------------------------------------------------------------------

@main.group("sync")
def sync_group():
    """Upward sync: the outbox, roll-up jobs and their state."""


def _request_drain() -> None:
    """After a bulk write committed on a bare connection: recompute its figures (inline without Redis)."""
    from sync.outbox import request_drain

    request_drain()


@sync_group.command("status")
@with_appcontext
def sync_status():
    """Pending outbox rows, queue depths, failed jobs and the last roll-up per level."""
    from sync.status import gather, render

    url = current_app.config.get("SHOUHU_REDIS_URL")
    with job_scope(all_tenants=True), db.session_scope(commit=False) as session:
        status = gather(session.connection(), url)
    for line in render(status, url):
        click.echo(line)


@sync_group.command("drain")
@with_appcontext
def sync_drain():
    """Drain the outbox now, in this process (recompute the figures of every unit waiting in it)."""
    from sync.outbox import drain_outbox

    with job_scope(all_tenants=True):
        report = drain_outbox()
    click.echo(f"drained {report['events']} outbox rows in {report['batches']} batches: "
               f"{report['units']} unit figures written in {report['seconds']:.2f} s")


@sync_group.command("rebuild")
@click.option("--unit", "unit_code", default=None, help="only this unit's subtree (and the units above it)")
@with_appcontext
def sync_rebuild(unit_code):
    """Recompute every unit's figures from the source rows (children, visits, tasks, users)."""
    import time

    from sync.rollup import rebuild

    started = time.perf_counter()
    with job_scope(all_tenants=True), db.session_scope() as session:
        report = rebuild(session.connection(), unit_code)
    units = ", ".join(f"{level} {count}" for level, count in report["units"].items())
    click.echo(f"rebuilt {units} in {time.perf_counter() - started:.2f} s (as of {report['as_of']:%Y-%m-%d %H:%M:%S})")


@sync_group.command("verify")
@click.option("--unit", "unit_code", default=None, help="only this unit's subtree")
@click.option("--limit", default=50, show_default=True, help="differences to list")
@with_appcontext
def sync_verify(unit_code, limit):
    """Recompute in memory and list every unit whose stored figures differ; exit code 1 when any do."""
    from sync.rollup import verify

    with job_scope(all_tenants=True), db.session_scope(commit=False) as session:
        problems = verify(session.connection(), unit_code)
    if not problems:
        click.echo("stored figures match the source rows")
        return
    units = sorted({code for code, *_ in problems})
    click.echo(f"{len(units)} units differ ({len(problems)} figures): {' '.join(units[:limit])}", err=True)
    for code, key, have, want in problems[:limit]:
        click.echo(f"{code} {key}: stored {have}, expected {want}", err=True)
    sys.exit(1)


# --- protection cases ------------------------------------------------------------------------------

@main.group("cases")
def cases_group():
    """Protection cases: the escalation of overdue steps."""


@cases_group.command("escalate")
@with_appcontext
def cases_escalate():
    """Run the escalation job once: overdue steps notify the county and the city, further limits the province."""
    from sync.jobs import run_scoped

    report = run_scoped("tenant_app.cases.escalation.run", None, True)
    click.echo(f"escalated {report['cases']} cases, {report['notifications']} notifications")


# --- benchmarks ------------------------------------------------------------------------------------

@main.group("bench")
def bench_group():
    """Benchmarks that print figures."""


@bench_group.command("regions")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--villages", default=52000, help="size of the synthetic province when DIR is omitted")
@with_appcontext
def bench_regions_cmd(directory, villages):
    """Load DIR (default: a synthetic province of ~55,000 units) and print time and peak memory."""
    import tempfile

    from hierarchy.bench import bench_regions
    from hierarchy.synthetic import build_synthetic_province

    with tempfile.TemporaryDirectory() as tmp:
        if directory is None:
            directory = build_synthetic_province(BUNDLED_REGIONS / "shaoguan", Path(tmp),
                                                 villages_target=villages)
        bench_regions(db.engine, directory)


# --- child records: demo data and the scale benchmark ------------------------------------------------

@demo_group.command("generate")
@click.option("--children", "n", required=True, type=click.IntRange(min=1), help="how many children")
@click.option("--unit", "unit_code", default=None, help="division code: spread over its active villages "
              "(default: every loaded village)")
@click.option("--seed", default=20161, type=int, help="random seed (same seed, same data on an empty table)")
@with_appcontext
def demo_generate(n, unit_code, seed):
    """Create N realistic synthetic child records (valid ID numbers, national mix), set-based."""
    import time

    from tenant_app.children.demo import generate_children

    started = time.perf_counter()
    try:
        with db.engine.begin() as connection:
            count = generate_children(connection, n, unit_code, seed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    seconds = time.perf_counter() - started
    _request_drain()
    click.echo(f"generated {count:,} children under {unit_code or 'all units'} in {seconds:.1f} s "
               f"({count / seconds:,.0f} rows/s)")


@bench_group.command("children")
@click.option("--children", "n", default=1_000_000, type=click.IntRange(min=0),
              help="children generated over the synthetic province (0: skip)")
@click.option("--county-children", default=50_000, type=click.IntRange(min=1),
              help="children of the county whose list is timed (topped up there when short)")
@click.option("--villages", default=52000, help="size of the synthetic province when it is not loaded")
@click.option("--seed", default=2016, type=int)
@click.option("--allow-other-data", is_flag=True, help="run even if the database holds other provinces")
@with_appcontext
def bench_children_cmd(n, county_children, villages, seed, allow_other_data):
    """Time `demo generate` of N children and the first page of a county's list (PostgreSQL).

    WRITES AND COMMITS: run it on a dedicated database given by SHOUHU_DATABASE_URL, e.g.
    createdb shouhu_bench_children; SHOUHU_DATABASE_URL=postgresql://postgres@localhost/shouhu_bench_children
    shouhu db upgrade && ... shouhu bench children. It loads the synthetic province 41 (~52,000 villages)
    when absent, keeps everything it generates (drop the database afterwards), and refuses a database that
    holds other provinces unless --allow-other-data.
    """
    from tenant_app.children.bench import bench_children

    try:
        bench_children(db, children=n, county_children=county_children, villages=villages, seed=seed,
                       allow_other_data=allow_other_data, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("fanout")
@click.option("--villages", default=52000, help="size of the synthetic province when it is not loaded")
@click.option("--runs", default=7, type=click.IntRange(min=1), help="timed runs of the read queries (median)")
@with_appcontext
def bench_fanout_cmd(villages, runs):
    """Time publishing a campaign to the synthetic province (~52,000 villages) against a bare INSERT … SELECT,
    publishing again, the province's progress and a village's task list (PostgreSQL).

    Run it on a dedicated database (SHOUHU_DATABASE_URL), e.g. createdb shouhu_bench_fanout, then
    `shouhu db upgrade` and `shouhu bench fanout`. It loads the synthetic province 41 when absent (and keeps
    it); the campaign, its tasks and the scratch table are removed at the end.
    """
    from tenant_app.campaigns.bench import bench_fanout

    try:
        bench_fanout(db, villages=villages, runs=runs, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("import")
@click.option("--rows", "n", default=10_000, type=click.IntRange(min=1), help="rows in the generated workbook")
@click.option("--village", default="440203001002", help="the importing village (must be loaded)")
@click.option("--seq-base", default=500, type=click.IntRange(min=0, max=900),
              help="ID sequence numbers start here (change it to re-run on the same database)")
@with_appcontext
def bench_import_cmd(n, village, seq_base):
    """Time an Excel import of N children: dry run, then apply (one transaction), inline, on PostgreSQL.

    WRITES AND COMMITS (a bench user and N children): run it on a dedicated database, e.g.
    createdb shouhu_bench_import; SHOUHU_DATABASE_URL=postgresql://postgres@localhost/shouhu_bench_import
    shouhu db upgrade && shouhu regions load hierarchy/data/shaoguan && shouhu bench import.
    """
    import io
    import time
    import uuid
    from datetime import date, timedelta

    from openpyxl import Workbook

    from hierarchy.models import Unit
    from tenant_app.auth.models import User
    from tenant_app.auth.passwords import hash_password
    from tenant_app.children import excel, idcard, imports

    with job_scope(all_tenants=True), db.session_scope() as session:
        if session.get(Unit, village) is None:
            raise click.ClickException(f"village {village} is not loaded")
        user = User(region_code=village, username=f"bench_import_{uuid.uuid4().hex[:8]}", role="staff",
                    password_hash=hash_password(uuid.uuid4().hex), real_name="导入基准", phone="13800000000")
        session.add(user)
        session.flush()
        user_id = user.id
    started = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("儿童档案")
    ws.append(excel.HEADERS)
    first = date(2010, 1, 1)
    for i in range(n):
        born = first + timedelta(days=i % 3650)
        male = i % 2 == 0
        seq = seq_base + (i // 3650) * 2 + (1 if male else 0)
        first17 = village[:6] + born.strftime("%Y%m%d") + f"{seq:03d}"
        values = {"村(居)代码": village, "姓名": f"儿童{i}", "性别": "男" if male else "女",
                  "出生日期": born.isoformat(), "身份证号": first17 + idcard.check_char(first17),
                  "父亲状况": "外出务工", "母亲状况": "外出务工", "受托监护人姓名": "祖父",
                  "留守儿童": "是" if born.year >= 2011 else "否", "家庭收入来源": "务工、务农"}
        ws.append([values.get(h) for h in excel.HEADERS])
    out = io.BytesIO()
    wb.save(out)
    content = out.getvalue()
    click.echo(f"workbook: {n:,} rows, {len(content) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")

    with job_scope(village):
        started = time.perf_counter()
        with db.session_scope() as session:
            actor = session.get(User, user_id)
            imp_id = imports.start_dry_run(session, actor, "bench.xlsx", content).id
        imports.validate_import(imp_id)
        dry = time.perf_counter() - started
        with db.session_scope() as session:
            imp = session.get(imports.ChildImport, imp_id)
            click.echo(f"dry run: {dry:.1f} s ({imp.valid_count:,} valid, {imp.error_count:,} errors)")
            if imp.valid_count:
                imports.request_confirm(session, session.get(User, user_id), imp_id)
        started = time.perf_counter()
        imports.apply_import(imp_id)
        applied = time.perf_counter() - started
        with db.session_scope() as session:
            imp = session.get(imports.ChildImport, imp_id)
            click.echo(f"apply: {applied:.1f} s ({imp.applied_count:,} children, status {imp.status})")
    click.echo(f"import of {n:,} rows (dry run + apply): {dry + applied:.1f} s")



@bench_group.command("workforce")
@click.option("--people", default=56_000, type=click.IntRange(min=1), help="rows of the roster workbook")
@click.option("--villages", default=52000, help="size of the synthetic province when it is not loaded")
@click.option("--assessment/--no-assessment", default=True, show_default=True,
              help="then `shouhu bench assessment` on the same province (children, cases, twelve campaigns)")
@with_appcontext
def bench_workforce_cmd(people, villages, assessment):
    """Time the roster import of a province (~52,000 villages: a director per village, a supervisor per
    township, 56,000 people): dry run and confirmation, then the province's summary and vacancies; then the
    assessment of every county over a year and a county's league table page (PostgreSQL).

    Run it on a dedicated database (SHOUHU_DATABASE_URL), e.g. createdb shouhu_bench_roster, then
    `shouhu db upgrade` and `shouhu bench workforce`. It loads the synthetic province 41 when absent (and keeps
    it); the people, appointments, import and bench user are removed at the end.
    """
    from tenant_app.workforce.bench import bench_workforce

    try:
        bench_workforce(db, people=people, villages=villages, echo=click.echo)
        if assessment:
            from tenant_app.assessment.bench import bench_assessment

            click.echo("")
            bench_assessment(db, villages=villages, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("rollup")
@click.option("--children", "n", default=1_000_000, show_default=True, type=click.IntRange(min=0))
@click.option("--villages", default=52_000, show_default=True, help="target villages of the synthetic province")
@click.option("--seed", default=2016, type=int)
@with_appcontext
def bench_rollup_cmd(n, villages, seed):
    """Full rebuild vs a bare GROUP BY, the province's stats API call and, with SHOUHU_REDIS_URL and a worker
    process, one village's change until the province shows it (dedicated PostgreSQL database: it commits)."""
    from sync.bench import bench_rollup

    try:
        bench_rollup(current_app, db, children=n, villages=villages, seed=seed, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("cases")
@click.option("--children", "n", default=1_000_000, show_default=True, type=click.IntRange(min=0))
@click.option("--cases", default=50_000, show_default=True, type=click.IntRange(min=10),
              help="cases of the province (a fifth of them open)")
@click.option("--villages", default=52_000, show_default=True, help="target villages of the synthetic province")
@click.option("--runs", default=30, show_default=True, type=click.IntRange(min=3), help="timed requests each")
@with_appcontext
def bench_cases_cmd(n, cases, villages, runs):
    """A county's case queue, the escalation job over the province, the full rebuild with and without the case
    indicators, and filing a report through the API (dedicated PostgreSQL database: it commits)."""
    from tenant_app.cases.bench import bench_cases

    try:
        bench_cases(current_app, db, children=n, cases=cases, villages=villages, runs=runs, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("load")
@click.option("--villages", default=52_000, show_default=True, help="villages of the synthetic province")
@click.option("--children", default=30_000, show_default=True, help="children generated in city 4101")
@click.option("--village-users", default=1_500, show_default=True, help="village staff accounts (city 4101)")
@click.option("--logins", default=60, show_default=True, help="accounts that log in at the same moment")
@click.option("--rate", default=220.0, show_default=True, help="requests/s offered (0: closed loop)")
@click.option("--duration", default=60.0, show_default=True, help="seconds of the mixed workload at most")
@click.option("--requests", "max_requests", default=20_000, show_default=True, help="requests at most")
@click.option("--concurrency", default=64, show_default=True, help="requests in flight at most")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: deploy's configuration)")
@click.option("--threads", default=None, type=int, help="threads per gunicorn worker (default: deploy's)")
@click.option("--pg-url", envvar="SHOUHU_BENCH_PG_URL", default="postgresql://postgres@localhost:5432/postgres",
              show_default=True, help="an owner or superuser URL of the local PostgreSQL")
@click.option("--redis-url", envvar="SHOUHU_BENCH_REDIS_URL", default="redis://localhost:6379/14",
              show_default=True, help="a Redis DB for the bench alone: it is emptied before and after")
@click.option("--keep", is_flag=True, help="keep the bench database (its URL is printed)")
@click.option("--reuse", "reuse_url", default=None, help="the URL of a database kept by an earlier --keep run: "
              "skip the set-up (fresh tokens; villages that submitted only read)")
def bench_load_cmd(villages, children, village_users, logins, rate, duration, max_requests, concurrency, workers,
                   threads, pg_url, redis_url, keep, reuse_url):
    """Start the production stack on this machine (gunicorn with deploy/gunicorn.conf.py, `shouhu worker`,
    Redis, a fresh PostgreSQL database it creates and drops), load the synthetic province with children,
    users and an open campaign, and drive a bounded mixed workload against 127.0.0.1 from a separate client
    process: requests/s and p50/p95/p99 per endpoint, errors, cores used by client and server, 60 logins at
    once, the roll-up's lag, and the province's figures against a recount."""
    from tenant_app.loadbench.run import bench_load

    try:
        bench_load(pg_url, redis_url, villages=villages, children=children, village_users=village_users,
                   logins=logins, rate=rate, duration=duration, max_requests=max_requests,
                   concurrency=concurrency, workers=workers, threads=threads, keep=keep,
                   reuse_url=reuse_url, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("country")
@click.option("--provinces", default=31, show_default=True, type=click.IntRange(1, 31),
              help="provinces (the first N division codes of the mainland's 31)")
@click.option("--villages", default=680_000, show_default=True, type=click.IntRange(min=1),
              help="villages of the whole country, shared among the provinces")
@click.option("--children", default=7_000_000, show_default=True, type=click.IntRange(min=1),
              help="children of the whole country, shared among the provinces")
@click.option("--runs", default=20, show_default=True, type=click.IntRange(min=1),
              help="requests timed for a province's progress and a county's children list")
@click.option("--pg-url", envvar="SHOUHU_BENCH_PG_URL", default="postgresql://postgres@localhost:5432/postgres",
              show_default=True, help="an owner or superuser URL of the PostgreSQL server measured")
@click.option("--citus-url", envvar="SHOUHU_BENCH_CITUS_URL", default=None,
              help="a superuser URL of a Citus coordinator: the same steps on its cluster, side by side")
@click.option("--keep", is_flag=True, help="keep the bench databases (their URLs are printed)")
def bench_country_cmd(provinces, villages, children, runs, pg_url, citus_url, keep):
    """A synthetic country on one PostgreSQL server (31 provinces, 680,000 villages and 7,000,000 children at
    full size; a smaller run prints its scale factor) and, with --citus-url, on a Citus cluster: the load, the
    full roll-up, the fan-out of a national campaign, a province's progress and a county's children list, timed,
    with the ratio Citus / single server; the first province's figures are checked against a recount on each.
    Exit status 1 when a step fails or a recount differs."""
    from tenant_app.loadbench.country import bench_country

    try:
        bench_country(pg_url, provinces=provinces, villages=villages, children=children, runs=runs, keep=keep,
                      citus_url=citus_url, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("requests")
@click.option("--villages", default=52_000, show_default=True, help="villages of the synthetic province")
@click.option("--children", default=30_000, show_default=True, help="children generated in city 4101")
@click.option("--village-users", default=1_500, show_default=True, help="village staff accounts (city 4101)")
@click.option("--per-endpoint", default=40, show_default=True, type=click.IntRange(min=1),
              help="requests counted per endpoint")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=0),
              help="requests per endpoint before counting (caches)")
@click.option("--endpoint", "endpoints", multiple=True, help="only these endpoints (repeatable; default: all)")
@click.option("--profile", "profile_endpoint", default=None, help="print the profile of this endpoint")
@click.option("--top", default=25, show_default=True, help="functions shown by --profile")
@click.option("--save-profiles", "save_dir", default=None, type=click.Path(file_okay=False),
              help="write each endpoint's profile (pstats) to DIR/<endpoint>.prof")
@click.option("--pg-url", envvar="SHOUHU_BENCH_PG_URL", default="postgresql://postgres@localhost:5432/postgres",
              show_default=True, help="an owner or superuser URL of the local PostgreSQL")
@click.option("--redis-url", envvar="SHOUHU_BENCH_REDIS_URL", default=None,
              help="Redis of the app (throttling, jobs) as in production; default: none")
@click.option("--keep", is_flag=True, help="keep the bench database (its URL is printed)")
@click.option("--reuse", "reuse_url", default=None, help="a database kept by `bench load --keep` or "
              "`bench requests --keep`: skip the set-up")
def bench_requests_cmd(villages, children, village_users, per_endpoint, warmup, endpoints, profile_endpoint, top,
                       save_dir, pg_url, redis_url, keep, reuse_url):
    """The work per request of each endpoint of `shouhu bench load`, counted rather than timed: Python function
    calls (cProfile) and SQL statements per request, replayed in process on the same dataset. The figures do not
    depend on the machine's load, unlike `bench load`'s latencies."""
    from tenant_app.loadbench.client import MIX
    from tenant_app.loadbench.requests import ME, bench_requests

    unknown = [e for e in (*endpoints, *([profile_endpoint] if profile_endpoint else [])) if e not in (ME, *MIX)]
    if unknown:
        raise click.BadParameter(f"unknown endpoints {unknown}; known: {', '.join([ME, *MIX])}")
    try:
        bench_requests(pg_url, redis_url, villages=villages, children=children, village_users=village_users,
                       per_endpoint=per_endpoint, warmup=warmup, endpoints=list(endpoints) or None,
                       profile_endpoint=profile_endpoint, top=top, save_dir=save_dir, keep=keep,
                       reuse_url=reuse_url, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("links")
@click.option("--children", default=1_000_000, show_default=True, type=click.IntRange(min=10),
              help="children of the synthetic province")
@click.option("--rows", default=3_000_000, show_default=True, type=click.IntRange(min=10),
              help="rows of the province's school roll")
@click.option("--fuzzy", default=50_000, show_default=True, type=click.IntRange(min=1),
              help="rows matched by name: of the school roll, and the whole assistance roster")
@click.option("--villages", default=52_000, show_default=True, help="villages of the synthetic province")
@click.option("--runs", default=50, show_default=True, type=click.IntRange(min=3),
              help="requests of the worklist page")
@click.option("--files-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="keep the generated CSV files there, and reuse those of the same scale found there")
@with_appcontext
def bench_links_cmd(children, rows, fuzzy, villages, runs, files_dir):
    """Horizontal links at province scale: a school roll of 3,000,000 rows uploaded as CSV (dry run < 90 s,
    confirmation), exact matching (< 20 s) against a bare hash join of the same tables, fuzzy matching of
    50,000 rows (< 60 s) and a village's worklist page (p95 < 100 ms); each figure with its target and ✔/✘.

    Run it on a dedicated database (SHOUHU_DATABASE_URL), e.g. createdb shouhu_bench_links, then
    `shouhu db upgrade` and `shouhu bench links`. The synthetic province and its children stay for later runs;
    the rolls, runs and matches of an earlier run are removed at the start. Exit status 1 when a step fails
    (the worklist page answering anything but 200, exact links differing from the hash join).
    """
    from tenant_app.links.bench import bench_links

    try:
        bench_links(current_app, db, children=children, rows=rows, fuzzy=fuzzy, villages=villages, runs=runs,
                    files_dir=files_dir, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench_group.command("assessment")
@click.option("--children", default=1_000_000, type=click.IntRange(min=0), help="children in the province")
@click.option("--cases", default=50_000, type=click.IntRange(min=0), help="cases in the province")
@click.option("--villages", default=52000, help="size of the synthetic province when it is not loaded")
@with_appcontext
def bench_assessment_cmd(children, cases, villages):
    """Time the assessment of every county of a ~52,000-village province over a year (target < 2 s) and a
    county's league table page (target < 200 ms), with a roster, twelve campaigns, children and cases.

    Run it on a dedicated database (SHOUHU_DATABASE_URL), e.g. createdb shouhu_bench_assessment, then
    `shouhu db upgrade` and `shouhu bench assessment`. The synthetic province, its children and cases stay for
    later runs; the roster and campaigns it adds are removed at the end.
    """
    from tenant_app.assessment.bench import bench_assessment

    try:
        bench_assessment(db, children=children, cases=cases, villages=villages, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main()
