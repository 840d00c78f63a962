"""Browser tests run against a live server and commit what they do; they leave the shared tree as they found it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

STATS_TABLES = ("unit_stats", "unit_stats_monthly", "unit_campaign_stats")


@contextmanager
def figures_preserved(owner) -> Iterator[None]:
    """On exit, outbox rows written inside are deleted and the stored figures are put back exactly as they were
    (`owner`: an engine on the tables' owner), so later tests of the session see the figures they expect."""
    from tenant_app.stats.models import UnitCampaignStats, UnitStats, UnitStatsMonthly

    models = {"unit_stats": UnitStats, "unit_stats_monthly": UnitStatsMonthly,
              "unit_campaign_stats": UnitCampaignStats}
    with owner.connect() as conn:
        saved = {t: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {t}"))] for t in STATS_TABLES}
        outbox_before = conn.execute(text("SELECT coalesce(max(id), 0) FROM sync_outbox")).scalar()
    try:
        yield
    finally:
        with owner.begin() as conn:
            conn.execute(text("DELETE FROM sync_outbox WHERE id > :n"), {"n": outbox_before})
            for table in reversed(STATS_TABLES):
                conn.execute(text(f"DELETE FROM {table}"))
            for table in STATS_TABLES:
                rows = [r for r in saved[table]
                        if table != "unit_campaign_stats" or _campaign_exists(conn, r["campaign_id"])]
                if rows:
                    conn.execute(models[table].__table__.insert(), rows)


@contextmanager
def committed_world(pg_url: str, build: Callable, tear_down: Callable) -> Iterator:
    """A browser test's committed data: `build(owner, tag)` on an engine of the tables' owner with a fresh tag
    (what it returns is yielded), then `tear_down(owner, tag)` and the stored figures put back."""
    owner = create_engine(pg_url)
    tag = uuid.uuid4().hex[:6]
    try:
        with figures_preserved(owner):
            try:
                yield build(owner, tag)
            finally:
                tear_down(owner, tag)
    finally:
        owner.dispose()


def _campaign_exists(conn, campaign_id: int) -> bool:
    return conn.execute(text("SELECT 1 FROM campaigns WHERE id = :c"), {"c": campaign_id}).first() is not None
