"""Distributing the schema on a Citus coordinator: what `shouhu db upgrade` does after the last migration when it
finds Citus (deploy/citus/SCHEMA.md is the plan this follows; deploy/citus/README.md has Citus's rules).

- Reference tables, copied to every node: the tree (`units`), the accounts and their tokens (`users`,
  `api_tokens`: a log-in by name and a token by its hash do not know the province; both are read on the node
  that answers, one row) and the nightly guard.
- Every other table with `province_code` is distributed by it, all co-located: its primary key and unique
  constraints gain `province_code` (appended); a foreign key between two of them becomes the pair
  (province_code, column).
- The triggers that fill `province_code` go: the coordinator routes a row by the value the statement gives, and
  every statement gives it (tests/test_province_code.py).
- The policies keep their meaning and lose their sub-selects, which Citus refuses: `(SELECT shouhu_scope_lo())`
  becomes the STABLE function's call `shouhu_scope_lo()`, evaluated on the node that holds the shard, where the
  scope arrives as `SET LOCAL` (hierarchy.citus).

Run once: a schema already distributed is left as it is.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from hierarchy import rls
from hierarchy.citus import CITUS_INFO

REFERENCE_TABLES = ("units", "users", "api_tokens", "sync_nightly_runs")
COLOCATE_WITH = "children"
PARTNER_ACCOUNT_FUNCTIONS = ("shouhu_partner_org_kind(integer)", "shouhu_partner_is_reporter(integer)")
SET_NULL_NEVER_FIRES = ("fk_worklist_items_campaign_id_campaigns", "fk_worklist_items_task_id_tasks")
_SUBSELECT = re.compile(r"\( SELECT (shouhu_\w+)\(\) AS \1\)")
# The policies' look-ups of other tables (migrations 0019, 0024), as pg_get_expr prints them once the scope's
# sub-selects are calls, and what replaces them (migration 0029's columns and functions).
_PARTNER = "shouhu_partner_user()"
_LOOKUPS = {
    "(( SELECT u.org_kind FROM users u WHERE ((u.id = shouhu_partner_user()) AND ((u.role)::text = "
    "'department'::text))))::text": f"shouhu_partner_org_kind({_PARTNER})",
    "(shouhu_partner_user() IN ( SELECT u.id FROM users u WHERE ((u.role)::text = 'reporter'::text)))":
        f"shouhu_partner_is_reporter({_PARTNER})",
    "(case_id IN ( SELECT c.id FROM cases c WHERE (c.report_id IN ( SELECT r.id FROM reports r WHERE "
    "(r.reporter_user_id = shouhu_partner_user())))))": f"(partner_user_id = {_PARTNER})",
    "(report_id IN ( SELECT r.id FROM reports r WHERE (r.reporter_user_id = shouhu_partner_user())))":
        f"(reporter_user_id = {_PARTNER})",
}


def is_citus(connection) -> bool:
    """Whether the database is a Citus coordinator, read once per pooled connection (the application's connect
    hook already notes it, hierarchy.citus)."""
    if CITUS_INFO not in connection.info:
        connection.info[CITUS_INFO] = bool(connection.execute(text(
            "SELECT count(*) FROM pg_extension WHERE extname = 'citus'")).scalar())
    return connection.info[CITUS_INFO]


def via_results(connection) -> str:
    """The tail of an `INSERT … SELECT` into a distributed table whose rows come through the coordinator (from a
    parameter, a temporary or a reference table): Citus sends such rows to the shards by COPY, which row-level
    security refuses, unless the statement has ON CONFLICT; it then inserts them from intermediate results. Only
    for tables whose rows cannot conflict (a generated key alone); '' off Citus."""
    return " ON CONFLICT DO NOTHING" if connection.dialect.name == "postgresql" and is_citus(connection) else ""


def is_distributed(connection) -> bool:
    return bool(connection.execute(text(
        "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'children'::regclass")).scalar())


def tenant_tables(connection) -> list[str]:
    """Tables of the public schema with a province_code column that Citus does not manage yet, reference tables
    excepted."""
    rows = connection.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'province_code' "
        "AND NOT a.attisdropped WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid) ORDER BY 1"))
    return [name for (name,) in rows if name not in REFERENCE_TABLES]


def _foreign_keys(connection, tables: list[str]) -> list[dict]:
    """Foreign keys between two tables of `tables`: name, table, columns, referenced table and columns, actions."""
    rows = connection.execute(text("""
        SELECT con.conname, src.relname, dst.relname, con.confdeltype, con.confupdtype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
        FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class dst ON dst.oid = con.confrelid
        WHERE con.contype = 'f' AND src.relname = ANY(:t) AND dst.relname = ANY(:t) ORDER BY 1"""), {"t": tables})
    return [{"name": r[0], "table": r[1], "ref": r[2], "on_delete": r[3], "on_update": r[4], "columns": list(r[5]),
             "ref_columns": list(r[6])} for r in rows]


_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def _foreign_key_sql(fk: dict) -> str:
    on_delete = _ACTIONS[fk["on_delete"]]
    if on_delete == "SET NULL":
        # Citus refuses SET NULL in a key that holds the distribution column. These two never fire: a worklist
        # item names a campaign once the campaign's tasks exist, and only drafts (which have none) are deleted.
        if fk["name"] not in SET_NULL_NEVER_FIRES:
            raise ValueError(f"{fk['name']}: ON DELETE SET NULL has no form on Citus")
        on_delete = "NO ACTION"
    columns = ", ".join(["province_code", *fk["columns"]])
    ref_columns = ", ".join(["province_code", *fk["ref_columns"]])
    return (f'ALTER TABLE {fk["table"]} ADD CONSTRAINT {fk["name"]} FOREIGN KEY ({columns}) '
            f'REFERENCES {fk["ref"]} ({ref_columns}) ON DELETE {on_delete}')


def _keys_with_the_province(connection, table: str) -> list[str]:
    """Statements that add province_code, last (the lookups by the key's own columns keep their index), to the
    table's primary key, unique constraints and unique indexes that lack it."""
    statements = []
    rows = connection.execute(text("""
        SELECT con.conname, con.contype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)
        FROM pg_constraint con WHERE con.conrelid = CAST(:t AS regclass) AND con.contype IN ('p', 'u')"""),
        {"t": table}).all()
    constrained = set()
    for name, kind, columns in rows:
        constrained.add(name)
        if "province_code" in columns:
            continue
        what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
        statements += [f"ALTER TABLE {table} DROP CONSTRAINT {name}",
                       f"ALTER TABLE {table} ADD CONSTRAINT {name} {what} ({', '.join(columns)}, province_code)"]
    indexes = connection.execute(text("""
        SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = CAST(:t AS regclass) AND x.indisunique"""), {"t": table}).all()
    for name, definition in indexes:
        if name in constrained:
            continue
        head, _, rest = definition.partition(" USING btree (")
        columns = rest.split(")", 1)[0]
        if "province_code" in columns.split(", "):
            continue
        statements += [f"DROP INDEX {name}", f"{head} USING btree ({columns}, province_code){rest[len(columns) + 1:]}"]
    return statements


def citus_form(expression: str) -> str:
    """A policy's expression without sub-selects: the scope's as calls, the look-ups as migration 0029's columns
    and functions. A sub-select left over is an error naming it (a new policy needs its form here)."""
    expression = " ".join(_SUBSELECT.sub(lambda m: f"{m.group(1)}()", expression).split())
    for lookup, replacement in _LOOKUPS.items():
        expression = expression.replace(lookup, replacement)
    if "SELECT" in expression.upper():
        raise ValueError(f"a policy reads another table and has no form for Citus: {expression}")
    return expression


def _policies(connection, tables: list[str]) -> list[str]:
    """Every policy of these tables again, with its scope sub-selects as plain calls."""
    rows = connection.execute(text("""
        SELECT p.polname, c.relname, p.polcmd, p.polpermissive,
               ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END
                     FROM unnest(p.polroles) r),
               pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relname = ANY(:t) ORDER BY 2, 1"""),
        {"t": tables}).all()
    commands = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
    statements = []
    for name, table, command, permissive, roles, using, check in rows:
        if not any("SELECT" in (e or "").upper() for e in (using, check)):
            continue
        sql = (f"CREATE POLICY {name} ON {table} AS {'PERMISSIVE' if permissive else 'RESTRICTIVE'} "
               f"FOR {commands[command]} TO {', '.join(roles)}")
        if using:
            sql += f" USING ({citus_form(using)})"
        if check:
            sql += f" WITH CHECK ({citus_form(check)})"
        statements += [f"DROP POLICY {name} ON {table}", sql]
    return statements


def _province_triggers(connection) -> list[str]:
    rows = connection.execute(text(
        "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace "
        "AND (t.tgname LIKE '%\\_province\\_code' OR t.tgname LIKE '%\\_province\\_moved')")).all()
    return [f"DROP TRIGGER {name} ON {table}" for name, table in rows]


def plan(connection) -> list[str]:
    """The statements that distribute the schema, in order (reading the catalog of the current schema)."""
    tables = tenant_tables(connection)
    foreign_keys = _foreign_keys(connection, tables)
    statements = _province_triggers(connection)
    statements += [f"ALTER TABLE {fk['table']} DROP CONSTRAINT {fk['name']}" for fk in foreign_keys]
    for table in tables:
        statements += _keys_with_the_province(connection, table)
    statements += _policies(connection, [*REFERENCE_TABLES, *tables])
    statements += [f"SELECT create_reference_table('{table}')" for table in REFERENCE_TABLES]
    statements.append(f"SELECT create_distributed_table('{COLOCATE_WITH}', 'province_code', colocate_with => 'none')")
    statements += [f"SELECT create_distributed_table('{table}', 'province_code', colocate_with => '{COLOCATE_WITH}')"
                   for table in tables if table != COLOCATE_WITH]
    statements += [_foreign_key_sql(fk) for fk in foreign_keys]
    # A statement run under SET ROLE reaches the workers over connections opened as that role (the README's
    # facts): the two roles may log in. pg_hba.conf decides from where (deploy/citus/OPERATIONS.md).
    statements += [f"ALTER ROLE {role} LOGIN" for role in (rls.app_role(), rls.jobs_role())]
    # The partner policies' account functions read `users` (a reference table) while a worker runs a shard's
    # query: Citus refuses that as a nested distributed query unless the function allows it. The read is of the
    # node's own copy of a reference table, by its key, so nothing is sent on to another node.
    statements += [f"ALTER FUNCTION {function} SET citus.allow_nested_distributed_execution = on"
                   for function in PARTNER_ACCOUNT_FUNCTIONS]
    return statements


def distribute(connection) -> list[str]:
    """Distribute the schema when the database is a Citus coordinator that has not done it yet; the statements
    run (none elsewhere)."""
    if connection.dialect.name != "postgresql" or not is_citus(connection) or is_distributed(connection):
        return []
    statements = plan(connection)
    # The one trigger left (users: a partner keeps its role) is evaluated where the row is, as on one server.
    connection.exec_driver_sql("SET LOCAL citus.enable_unsafe_triggers = on")
    for statement in statements:
        connection.exec_driver_sql(statement)
    return statements
