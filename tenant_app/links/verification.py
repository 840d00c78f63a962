"""A worklist turned into work: a county's verification campaign (a special action, template `verification`)
with one task for exactly each village that has items on the list, and the villages' answers item by item.

The fan-out is set-based, in the request's transaction: the campaign, then one INSERT … SELECT of the tasks (the
distinct villages of the county's open items of the list, optionally narrowed to given villages), one of the
receipts of their townships, and one UPDATE putting the items into their village's task. Units loaded later do
not join such a campaign (tenant_app.campaigns.fanout skips the template).

Answers (the village's staff, while the task is open), each through the record's history:
- `dropout`: confirmed (the record says dropped out), corrected (in school: `schooling`, a school level);
- `unregistered`: added (a new record from the register's row and the answer's `record` fields), confirmed (lives
  here, no record needed);
- `no_hukou`: corrected (registered now: `hukou_registered`, `hukou_place`), confirmed (still unregistered);
- `assistance`: corrected (enrolled: `benefit` joins the record's assistance), confirmed (not eligible);
- `mismatch`: corrected (`name`, `sex`, `birth_date`, by default the register's), confirmed (the record is right);
- any: not_found. A task is submitted once every item is answered.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, func, select, text

from hierarchy.citus_schema import via_results
from hierarchy.codes import Level, level_of
from sync.outbox import record_bulk
from tenant_app import clock
from tenant_app.campaigns.models import Campaign, Task
from tenant_app.children import services as child_services
from tenant_app.children.enums import ASSISTANCE
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l, both_languages
from tenant_app.links import enums as E
from tenant_app.links import worklists
from tenant_app.links.models import WorklistItem
from tenant_app.tasks import access

INVALID = _l("核查结果有误")
NOTHING = _l("所选村（居）在该清单上没有待核查的对象")
STALE = _l("该核查对象已被他人处理，请刷新后重试")
MAX_VILLAGES = 5000


def can_issue(actor) -> bool:
    return actor.role in ("staff", "admin") and level_of(actor.region_code) is Level.county


def is_verification(campaign: Campaign) -> bool:
    return campaign.template == E.VERIFICATION_TEMPLATE


# --- the campaign and its fan-out --------------------------------------------------------------------------

def create_campaign(session, actor, *, list_kind: str, due_on: date, title: str | None = None,
                    villages: list[str] | None = None) -> tuple[Campaign, int]:
    """The verification campaign of one list of the actor's county: (campaign, items put into tasks)."""
    if not can_issue(actor):
        raise Forbidden(_l("只有县级工作人员可以将核查清单下发为核查任务"))
    errors: dict = {}
    if list_kind not in E.LIST_KINDS:
        errors["list_kind"] = [_l("清单类别无效")]
    if due_on < clock.today_cst():
        errors["due_on"] = [_l("截止日期不能早于今天")]
    county = actor.region_code
    chosen = sorted(set(villages or ()))
    if any(len(v) != 12 or not v.isdigit() or not v.startswith(county) for v in chosen):
        errors["villages"] = [_l("只能选择本县的村（居）")]
    if len(chosen) > MAX_VILLAGES:
        errors["villages"] = [_l("最多选择%(n)s个村（居）", n=MAX_VILLAGES)]
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    worklists.lock(session, county)
    now = clock.now()
    label = str(E.LIST_KINDS[list_kind])
    campaign = Campaign(issuer_code=county, title=(title or "").strip()[:200] or f"{label}核查", kind="special_action",
                        template=E.VERIFICATION_TEMPLATE, target_level=int(Level.village),
                        reviewer_level=int(Level.township), starts_on=clock.today_cst(), due_on=due_on,
                        directive=both_languages(_l("请逐一核实清单中的对象并填报核查结果：情况属实、已更正、已补录建档或查无此人。")),
                        questions=[], status="open", created_by_id=actor.id, created_at=now, published_at=now,
                        published_by_id=actor.id)
    session.add(campaign)
    session.flush()
    # Every statement names the county's province: on a Citus coordinator each then runs on its shard. GROUP BY,
    # not DISTINCT: Citus adds the target's defaults to the SELECT, a task's answers (json, without equality); the
    # computed codes cast with their lengths (hierarchy.citus_schema.via_results says why).
    params = {"cid": campaign.id, "kind": list_kind, "lo": county, "hi": county + ":", "due": due_on,
              "province": county[:2]}
    narrow = ""
    if chosen:
        params.update({f"v{i}": v for i, v in enumerate(chosen)})
        narrow = f" AND w.region_code IN ({', '.join(f':v{i}' for i in range(len(chosen)))})"
    items = (f"w.province_code = :province AND w.region_code >= :lo AND w.region_code < :hi "
             f"AND w.list_kind = :kind AND w.status = 'open'{narrow}")
    tasks = session.execute(text(f"""
        INSERT INTO tasks (campaign_id, region_code, reviewer_code, due_on, province_code)
        SELECT :cid, w.region_code, CAST(substr(w.region_code, 1, 9) AS varchar(12)), CAST(:due AS date),
               w.province_code
        FROM worklist_items w JOIN units u ON u.code = w.region_code AND NOT u.retired WHERE {items}
        GROUP BY w.province_code, w.region_code{via_results(session.connection())}"""),
                            params).rowcount
    if not tasks:
        raise ValidationFailed(NOTHING, errors={"list_kind": [NOTHING]})
    session.execute(text("""
        INSERT INTO campaign_receipts (campaign_id, region_code, province_code)
        SELECT :cid, CAST(substr(t.region_code, 1, 9) AS varchar(12)), t.province_code FROM tasks t
        WHERE t.province_code = :province AND t.campaign_id = :cid
        GROUP BY t.province_code, CAST(substr(t.region_code, 1, 9) AS varchar(12))"""
                         + via_results(session.connection())), params)
    own_task = ("SELECT t.id FROM tasks t WHERE t.province_code = worklist_items.province_code "
                "AND t.campaign_id = :cid AND t.region_code = worklist_items.region_code")
    moved = session.execute(text(f"""
        UPDATE worklist_items SET status = 'in_task', campaign_id = :cid, version = version + 1,
               task_id = ({own_task})
        WHERE province_code = :province AND id IN (SELECT w.id FROM worklist_items w WHERE {items})
          AND EXISTS ({own_task})"""), params).rowcount
    session.execute(text("""
        UPDATE campaigns SET
          task_count = (SELECT count(*) FROM tasks WHERE province_code = :province AND campaign_id = :cid),
          receipt_count = (SELECT count(*) FROM campaign_receipts
                           WHERE province_code = :province AND campaign_id = :cid)
        WHERE province_code = :province AND id = :cid"""), params)
    session.expire(campaign)
    record_bulk(session, [county], "campaign")
    return campaign, moved


# --- a task's items ----------------------------------------------------------------------------------------

def task_items(session, actor, task_id: int, *, answered: bool | None = None, page: int = 1,
               per_page: int = worklists.PER_PAGE) -> dict:
    """The task's items to verify (unanswered first), with its counts and whether the caller may answer."""
    task, campaign = access.get_task(session, task_id)
    if not is_verification(campaign):
        raise NotFound(_l("不是核查任务"))
    query = worklists.item_query().where(WorklistItem.task_id == task.id)
    if answered is not None:
        query = query.where(WorklistItem.answer.is_not(None) if answered else WorklistItem.answer.is_(None))
    rows = session.execute(query.order_by((WorklistItem.answer.is_not(None)).cast(Integer), WorklistItem.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    counts = dict(session.execute(select(WorklistItem.answer.is_not(None), func.count())
                                  .where(WorklistItem.task_id == task.id).group_by(WorklistItem.answer.is_not(None))
                                  ).all())
    done, left = int(counts.get(True, 0)), int(counts.get(False, 0))
    total = {None: done + left, True: done, False: left}[answered]
    return {"task_id": task.id, "campaign_id": campaign.id, "title": campaign.title, "village_code": task.region_code,
            "status": task.status, "due_on": task.due_on, "answered_count": done, "unanswered_count": left,
            "can_answer": access.is_editable(task, campaign) and access.can_answer(actor, task),
            "items": [worklists.item_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page}


def unanswered(session, task: Task) -> int:
    return session.scalar(select(func.count()).where(WorklistItem.task_id == task.id,
                                                     WorklistItem.answer.is_(None))) or 0


def _bad(field: str, message) -> ValidationFailed:
    return ValidationFailed(INVALID, errors={field: [message]})


def answer(session, actor, item_id: int, body: dict) -> WorklistItem:
    """Answer one item of a village's verification task (`version`: stale, 409); the record follows."""
    item = session.get(WorklistItem, item_id)
    if item is None or item.task_id is None:
        raise NotFound(_l("核查对象不存在"))
    task, campaign = access.get_task(session, item.task_id)
    access.require_answer(actor, task)
    access.require_editable(task, campaign)
    if body.get("version") != item.version:
        raise Conflict(STALE, errors={"version": [STALE]}, current_version=item.version)
    choice = body.get("answer")
    if choice not in E.LIST_ANSWERS[item.list_kind]:
        raise _bad("answer", _l("该清单可选：%(choices)s", choices="、".join(
            str(E.ANSWERS[a]) for a in E.LIST_ANSWERS[item.list_kind])))
    if item.answer is not None and item.answer != choice:
        raise Conflict(_l("该对象已核查，不能改为其他结果"))
    if item.answer is None:
        _apply(session, actor, item, choice, body)
        now = clock.now()
        item.answer, item.status, item.answered_by_id = choice, "answered", actor.id
        item.answered_at, item.answered_on = now, clock.today_cst()
        item.answer_note = (body.get("note") or "").strip()[:200]
    if task.status == "pending":
        task.status, task.updated_at = "draft", clock.now()
        access.record_event(session, task, actor, "draft_saved", both_languages(_l("开始核查")))
    access.flush(session)
    return item


def _record_update(session, actor, item: WorklistItem, values: dict) -> None:
    child = child_services.get_child(session, item.child_id)
    child_services.update_child(session, actor, child.id, {**values, "version": child.version})


def _apply(session, actor, item: WorklistItem, choice: str, body: dict) -> None:
    kind = item.list_kind
    if choice == "not_found":
        return
    if kind == "dropout":
        if choice == "confirmed":
            _record_update(session, actor, item, {"schooling": "dropout"})
        else:
            schooling = body.get("schooling")
            if schooling not in E.IN_SCHOOL:
                raise _bad("schooling", _l("请选择在读学段"))
            _record_update(session, actor, item, {"schooling": schooling})
    elif kind == "unregistered":
        if choice == "added":
            away = {"father_situation": "away", "mother_situation": "away"}
            if item.reason == "one_away_other_unable":
                away = {}
            data = {"name": item.name, "sex": item.sex, "birth_date": item.birth_date, "id_number": item.id_number,
                    "is_left_behind": True, "hukou_registered": True, **away}
            if body.get("schooling"):
                data["schooling"] = body["schooling"]
            data.update(body.get("record") or {})
            child = child_services.create_child(session, actor, data)
            item.result_child_id = child.id
    elif kind == "no_hukou":
        registered = choice == "corrected"
        values = {"hukou_registered": registered}
        if registered and body.get("hukou_place"):
            values["hukou_place"] = str(body["hukou_place"])[:200]
        _record_update(session, actor, item, values)
    elif kind == "assistance" and choice == "corrected":
        benefit = body.get("benefit") or E.RECORD_BENEFIT.get(item.reason, "dibao")
        if benefit not in ASSISTANCE:
            raise _bad("benefit", _l("救助类别无效"))
        child = child_services.get_child(session, item.child_id)
        current = list(child.assistance or [])
        if benefit not in current:
            _record_update(session, actor, item, {"assistance": [*current, benefit]})
    elif kind == "mismatch" and choice == "corrected":
        values = {"name": body.get("name") or item.name, "sex": body.get("sex") or item.sex,
                  "birth_date": body.get("birth_date") or item.birth_date}
        _record_update(session, actor, item, {k: v for k, v in values.items() if v is not None})


def submission_errors(session, task: Task, campaign: Campaign) -> dict:
    """A verification task is submitted once every item is answered (tenant_app.tasks.services)."""
    if not is_verification(campaign):
        return {}
    left = unanswered(session, task)
    return {"worklist": [_l("还有 %(n)s 个核查对象未填报结果", n=left)]} if left else {}


