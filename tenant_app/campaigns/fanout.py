"""Fan-out: one task per active target unit and one receipt per intermediate unit, set-based.

`fan_out(connection, campaign_id)` is the whole job in one transaction: it locks the campaign row, then one
`INSERT … SELECT … ON CONFLICT DO NOTHING` per table over the issuer's subtree range of `units`, then the
counts. Running it again (a second publish, a retried job, two workers at once: the row lock serialises
them) inserts nothing new: an open campaign is skipped, and ON CONFLICT covers a job retried mid-way.
No timeline row is written per task: the campaign's publication is the first step.
`join_open_campaigns(connection)` gives units loaded later their tasks and receipts of every open campaign but
a worklist's verification campaign, whose villages are exactly those its items name.
"""

from __future__ import annotations

from sqlalchemy import text

from hierarchy.codes import CODE_LENGTHS, Level

# The code length of a level (1 province .. 5 village) as SQL, for `substr(code, 1, n)`.
_REVIEWER_LENGTH = ("CASE c.reviewer_level " + " ".join(f"WHEN {int(level)} THEN {length}"
                                                         for level, length in CODE_LENGTHS.items()) + " END")
_ISSUER_LEVEL = "CASE length(c.issuer_code) " + " ".join(f"WHEN {length} THEN {int(level)}"
                                                         for level, length in CODE_LENGTHS.items()) + " END"

# The province is named (not left to the trigger of migration 0028): the distribution key of a Citus deployment.
# The computed columns are cast to the columns' types with their lengths: Citus passes the rows on to the shards as
# records of the target's types, and drops a bare cast of text to varchar from the statement it sends.
TASKS_SELECT = """
SELECT :cid, u.code, CAST(substr(u.code, 1, :reviewer_length) AS varchar(12)), CAST(:due_on AS date),
       CAST(substr(u.code, 1, 2) AS varchar(2))
FROM units u
WHERE u.code >= :lo AND u.code < :hi AND u.level = :target AND NOT u.retired"""

RECEIPTS_SELECT = """
SELECT :cid, u.code, CAST(substr(u.code, 1, 2) AS varchar(2))
FROM units u
WHERE u.code >= :lo AND u.code < :hi AND u.level > :issuer_level AND u.level < :target AND NOT u.retired"""

TASKS_COLUMNS = "campaign_id, region_code, reviewer_code, due_on, province_code"
_TASKS_SQL = text(f"INSERT INTO tasks ({TASKS_COLUMNS}) {TASKS_SELECT}\n"
                  "ON CONFLICT DO NOTHING")
_RECEIPTS_SQL = text(f"INSERT INTO campaign_receipts (campaign_id, region_code, province_code) {RECEIPTS_SELECT}\n"
                     "ON CONFLICT DO NOTHING")
# Every statement names the campaign's province: on a Citus coordinator each then runs on that province's shard.
_COUNTS_SQL = text("""
UPDATE campaigns SET
  task_count = (SELECT count(*) FROM tasks WHERE province_code = :province AND campaign_id = :cid),
  receipt_count = (SELECT count(*) FROM campaign_receipts WHERE province_code = :province AND campaign_id = :cid),
  status = CASE WHEN status = 'publishing' THEN 'open' ELSE status END,
  version = version + 1
WHERE province_code = :province AND id = :cid""")


def _province_of(connection, campaign_id: int) -> str | None:
    return connection.execute(text("SELECT province_code FROM campaigns WHERE id = :cid"),
                              {"cid": campaign_id}).scalar()


def _lock(connection, campaign_id: int, province_code: str):
    suffix = " FOR UPDATE" if connection.dialect.name == "postgresql" else ""
    return connection.execute(text(
        "SELECT id, issuer_code, target_level, reviewer_level, due_on, status FROM campaigns "
        "WHERE province_code = :province AND id = :cid" + suffix),
        {"cid": campaign_id, "province": province_code}).one_or_none()


def fan_out(connection, campaign_id: int, province_code: str | None = None) -> dict:
    """Create the campaign's missing tasks and receipts and open it; returns what was inserted. `province_code`:
    the campaign's (its issuer's), looked up when not given."""
    province_code = province_code or _province_of(connection, campaign_id)
    campaign = _lock(connection, campaign_id, province_code) if province_code else None
    # Once open, the campaign has fanned out (units loaded since join through join_open_campaigns): a second
    # publish or a second worker that waited on the lock has nothing to insert, so it skips the scan.
    if campaign is None or campaign.status != "publishing":
        return {"campaign_id": campaign_id, "tasks": 0, "receipts": 0, "skipped": True}
    issuer = campaign.issuer_code
    params = {"cid": campaign.id, "lo": issuer, "hi": issuer + ":", "target": campaign.target_level,
              "issuer_level": int(_level_of_length(len(issuer))),
              "reviewer_length": CODE_LENGTHS[Level(campaign.reviewer_level)], "due_on": campaign.due_on}
    tasks = connection.execute(_TASKS_SQL, params).rowcount
    receipts = connection.execute(_RECEIPTS_SQL, params).rowcount
    connection.execute(_COUNTS_SQL, {"cid": campaign.id, "province": province_code})
    return {"campaign_id": campaign.id, "tasks": tasks, "receipts": receipts, "skipped": False}


def _level_of_length(length: int) -> Level:
    return next(level for level, n in CODE_LENGTHS.items() if n == length)


def fan_out_campaign(campaign_id: int) -> dict:
    """The job (queue `fanout`, scope: the issuer's unit): the fan-out in one transaction."""
    from hierarchy.scope import current_scope
    from sync.outbox import record_bulk
    from tenant_app.db import db

    with db.session_scope() as session:
        # The job's scope is the issuer's unit, so its province is the campaign's.
        unit = current_scope().unit_code
        result = fan_out(session.connection(), campaign_id, unit[:2] if unit else None)
        if not result["skipped"]:
            # The issuer's subtree gets new tasks: its campaign figures are recomputed by the roll-up.
            record_bulk(session, [current_scope().unit_code], "campaign")
        return result


# The province is the campaign's own (its issuer's, so every unit's here) and every correlated look-up names it:
# on a Citus coordinator the statement then runs on each shard by itself, its rows never leaving the worker.
_JOIN_TASKS_SQL = text(f"""
INSERT INTO tasks ({TASKS_COLUMNS})
SELECT c.id, u.code, substr(u.code, 1, {_REVIEWER_LENGTH}),
       COALESCE((SELECT max(r.due_on) FROM campaign_receipts r
                 WHERE r.province_code = c.province_code AND r.campaign_id = c.id
                   AND r.region_code IN (substr(u.code, 1, 2), substr(u.code, 1, 4), substr(u.code, 1, 6),
                                         substr(u.code, 1, 9))
                   AND r.due_on > c.due_on), c.due_on), c.province_code
FROM campaigns c
JOIN units u ON u.code >= c.issuer_code AND u.code < c.issuer_code || ':' AND u.level = c.target_level
WHERE c.status = 'open' AND NOT u.retired AND coalesce(c.template, '') <> 'verification'
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.province_code = c.province_code AND t.campaign_id = c.id
                  AND t.region_code = u.code)
ON CONFLICT DO NOTHING""")

_JOIN_RECEIPTS_SQL = text(f"""
INSERT INTO campaign_receipts (campaign_id, region_code, province_code)
SELECT c.id, u.code, c.province_code
FROM campaigns c
JOIN units u ON u.code >= c.issuer_code AND u.code < c.issuer_code || ':'
            AND u.level > {_ISSUER_LEVEL} AND u.level < c.target_level
WHERE c.status = 'open' AND NOT u.retired AND coalesce(c.template, '') <> 'verification'
  AND NOT EXISTS (SELECT 1 FROM campaign_receipts r WHERE r.province_code = c.province_code AND r.campaign_id = c.id
                  AND r.region_code = u.code)
ON CONFLICT DO NOTHING""")


def join_open_campaigns(connection) -> dict:
    """Give every unit that lacks them its tasks and receipts of the open campaigns (after a region load).
    Runs with the operator's all-tenants scope, in the load's transaction."""
    tasks = connection.execute(_JOIN_TASKS_SQL).rowcount
    receipts = connection.execute(_JOIN_RECEIPTS_SQL).rowcount
    if tasks or receipts:
        connection.execute(text("""
UPDATE campaigns SET task_count = n.tasks, receipt_count = n.receipts, version = version + 1
FROM (SELECT c.id,
             (SELECT count(*) FROM tasks t WHERE t.campaign_id = c.id) AS tasks,
             (SELECT count(*) FROM campaign_receipts r WHERE r.campaign_id = c.id) AS receipts
      FROM campaigns c WHERE c.status = 'open') AS n
WHERE campaigns.id = n.id AND (campaigns.task_count <> n.tasks OR campaigns.receipt_count <> n.receipts)"""))
    if tasks:
        from sync.outbox import record_bulk

        # New tasks change the campaign figures of each open campaign's issuer subtree.
        record_bulk(connection, "SELECT DISTINCT issuer_code AS region_code FROM campaigns WHERE status = 'open'",
                    "campaign")
    return {"tasks": tasks, "receipts": receipts}
