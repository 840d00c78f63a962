"""Row-level security predicates read the scope once per statement.

Each policy's calls of the scope functions become scalar sub-selects, which PostgreSQL evaluates once per
statement as an InitPlan. Inlined into the predicate they were evaluated again for every row a sequential scan
or an INSERT's WITH CHECK met (about 3 µs a row: a province-wide GROUP BY over 52,000 tasks spent most of its
time there); as InitPlan parameters they still bound index range scans. The rewrite is done on every policy of
the schema, from its stored text, so it covers policies whichever migration created them, and it is idempotent.

Revision ID: 0009_policy_initplans
Revises: 0008_inline_scope_functions
Create Date: 2026-11-23
"""
import re

from alembic import op
from sqlalchemy import text

revision = "0009_policy_initplans"
down_revision = "0008_inline_scope_functions"
branch_labels = None
depends_on = None

_WRAP = [
    (re.compile(r"ANY \(shouhu_scope_ancestors\(\)\)"), "ANY ((SELECT shouhu_scope_ancestors())::text[])"),
    (re.compile(r"(?<!SELECT )\b(shouhu_scope(?:_lo|_hi)?)\(\)"), r"(SELECT \1())"),
]
# PostgreSQL prints a stored `(SELECT f())` as `( SELECT f() AS f)`.
_UNWRAP = [
    (re.compile(r"ANY \(\( SELECT shouhu_scope_ancestors\(\) AS shouhu_scope_ancestors\)::text\[\]\)"),
     "ANY (shouhu_scope_ancestors())"),
    (re.compile(r"\( SELECT (shouhu_scope(?:_lo|_hi)?)\(\) AS \1\)"), r"\1()"),
]


def _rewrite(expression: str | None, rules) -> str | None:
    if expression is None:
        return None
    for pattern, replacement in rules:
        expression = pattern.sub(replacement, expression)
    return expression


def _alter_policies(rules) -> None:
    bind = op.get_bind()
    policies = bind.execute(text(
        "SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = current_schema()"
    )).all()
    for table, name, qual, with_check in policies:
        new_qual, new_check = _rewrite(qual, rules), _rewrite(with_check, rules)
        if (new_qual, new_check) == (qual, with_check):
            continue
        clauses = []
        if new_qual is not None:
            clauses.append(f"USING ({new_qual})")
        if new_check is not None:
            clauses.append(f"WITH CHECK ({new_check})")
        op.execute(f'ALTER POLICY "{name}" ON "{table}" {" ".join(clauses)}')


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _alter_policies(_WRAP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _alter_policies(_UNWRAP)
