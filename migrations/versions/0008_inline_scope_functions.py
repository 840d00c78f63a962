"""Scope functions as single expressions, so PostgreSQL inlines them into RLS predicates.

A SQL function with a FROM clause is called once per row checked; an expression-only one is inlined and, being
stable, evaluated once per scan, which makes the subtree predicate a plain index range.

Revision ID: 0008_inline_scope_functions
Revises: 0007_stats
Create Date: 2026-11-23
"""
from alembic import op

revision = "0008_inline_scope_functions"
down_revision = "0007_stats"
branch_labels = None
depends_on = None

_SCOPE = "coalesce(current_setting('app.scope', true), '')"

INLINE_SQL = f"""
CREATE OR REPLACE FUNCTION shouhu_scope_lo() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN {_SCOPE} = '*' THEN '' WHEN {_SCOPE} ~ '^[0-9]{{2,12}}$' THEN {_SCOPE} ELSE '~' END
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_hi() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN {_SCOPE} = '*' THEN '~' WHEN {_SCOPE} ~ '^[0-9]{{2,12}}$' THEN {_SCOPE} || ':' ELSE '' END
$$;
"""

PREVIOUS_SQL = r"""
CREATE OR REPLACE FUNCTION shouhu_scope_lo() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s = '*' THEN '' WHEN s ~ '^[0-9]{2,12}$' THEN s ELSE '~' END
  FROM (SELECT shouhu_scope() AS s) AS x
$$;

CREATE OR REPLACE FUNCTION shouhu_scope_hi() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s = '*' THEN '~' WHEN s ~ '^[0-9]{2,12}$' THEN s || ':' ELSE '' END
  FROM (SELECT shouhu_scope() AS s) AS x
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(INLINE_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_SQL)
