"""Campaigns (工作部署): create and edit drafts, publish, close, extend, the issued / received lists.

Services validate, mutate and flush; the API or page commits once and only then enqueues the fan-out.
Who may do what:
- issue (create, edit and delete drafts, publish, close, extend, attach files): `staff` of the issuing unit,
  a province, city, county or township;
- extend for its own subtree: `staff` of a county under the issuer;
- read: the issuer's subtree and ancestors (drafts only at the issuing unit itself).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, func, select

from hierarchy.codes import CODE_LENGTHS, Level, ancestors_of, level_of
from hierarchy.models import Unit
from hierarchy.scope import reusable
from tenant_app import clock
from tenant_app.campaigns import catalog
from tenant_app.campaigns.forms import validate_questions
from tenant_app.campaigns.models import (
    KINDS,
    Campaign,
    CampaignAttachment,
    CampaignReceipt,
    Task,
)
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l

INVALID = _l("工作部署有误")
REQUIRED = _l("此项必填")
LEVEL_NAMES = {int(level): level.name for level in Level}
ISSUE_LEVELS = (Level.province, Level.city, Level.county, Level.township)
BOXES = ("issued", "received")
MAX_TITLE = 200
MAX_DIRECTIVE = 20000
MAX_NOTE = 4000
TITLE_TOO_LONG = _l("标题不超过%(n)s字", n=MAX_TITLE)
DIRECTIVE_TOO_LONG = _l("不超过%(n)s字", n=MAX_DIRECTIVE)
NOTE_TOO_LONG = _l("不超过4000字")
KIND_INVALID = _l("类型须为：%(choices)s", choices=", ".join(KINDS))
TEMPLATE_INVALID = _l("没有此模板，可选：%(choices)s", choices=", ".join(catalog.template_names()))


def _add(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def actor_level(actor) -> int:
    return int(level_of(actor.region_code))


def can_issue(actor) -> bool:
    return actor.role == "staff" and actor_level(actor) in ISSUE_LEVELS


def require_issue(actor) -> None:
    if not can_issue(actor):
        raise Forbidden(_l("仅省、市、县、乡镇工作人员可发布工作部署"))


def is_issuer(actor, campaign: Campaign) -> bool:
    return actor.role == "staff" and actor.region_code == campaign.issuer_code


def require_issuer(actor, campaign: Campaign) -> None:
    if not is_issuer(actor, campaign):
        raise Forbidden(_l("仅发布单位的工作人员可操作"))


def level_value(value) -> int | None:
    """A level given as its number (1-5) or its name ('village'); None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in LEVEL_NAMES else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return level_value(int(text))
        for number, name in LEVEL_NAMES.items():
            if name == text:
                return number
    return None


# --- reading -------------------------------------------------------------------------------------------

_GET_CAMPAIGN = reusable(select(Campaign).where(Campaign.id == bindparam("campaign_id")))


def get_campaign(session, actor, campaign_id: int) -> Campaign:
    """The campaign if the caller may read it: the scope gives the issuer's subtree and ancestors; a draft
    is visible at the issuing unit only."""
    campaign = session.execute(_GET_CAMPAIGN, {"campaign_id": campaign_id}).scalar_one_or_none()
    if campaign is None or (campaign.status == "draft" and campaign.issuer_code != actor.region_code):
        raise NotFound(_l("未找到该工作部署"))
    return campaign


def lock(session, campaign: Campaign) -> Campaign:
    """Lock the row for a change and reload it (after the permission checks: below the issuer, row-level
    security hides the row from a locking read)."""
    return session.execute(select(Campaign).where(Campaign.id == campaign.id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def list_campaigns(session, actor, box: str = "issued", page: int = 1, per_page: int = 50):
    """`issued`: my unit's campaigns, drafts included; `received`: published campaigns of my ancestors that
    reach my level (target level at or below mine)."""
    if box not in BOXES:
        raise ValidationFailed(INVALID, errors={"box": [_l("取值无效，可选：%(choices)s", choices=", ".join(BOXES))]})
    if box == "issued":
        query = select(Campaign).where(Campaign.issuer_code == actor.region_code)
    else:
        query = select(Campaign).where(Campaign.issuer_code.in_(ancestors_of(actor.region_code) or ["-"]),
                                       Campaign.status.in_(("open", "closed")),
                                       Campaign.target_level >= actor_level(actor))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Campaign.created_at.desc(), Campaign.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def subtree_task_counts(session, actor, campaign_ids) -> dict[int, int]:
    """For campaigns received from above: how many of each one's tasks lie in the caller's own subtree (the
    campaign's task_count is the whole campaign's, the issuer's figure)."""
    if not campaign_ids:
        return {}
    lo, hi = actor.region_code, actor.region_code + ":"
    return dict(session.execute(
        select(Task.campaign_id, func.count()).where(Task.campaign_id.in_(list(campaign_ids)),
                                                     Task.region_code >= lo, Task.region_code < hi)
        .group_by(Task.campaign_id)).all())


def unit_names(session, codes) -> dict[str, str]:
    codes = sorted(set(codes))
    if not codes:
        return {}
    return dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())


def campaign_dict(session, campaign: Campaign) -> dict:
    """The fields every listing shows."""
    return {
        "id": campaign.id, "issuer_code": campaign.issuer_code, "title": campaign.title,
        "directive": campaign.directive, "kind": campaign.kind, "template": campaign.template,
        "target_level": LEVEL_NAMES[campaign.target_level], "reviewer_level": LEVEL_NAMES[campaign.reviewer_level],
        "starts_on": campaign.starts_on, "due_on": campaign.due_on, "questions": campaign.questions,
        "status": campaign.status, "task_count": campaign.task_count, "receipt_count": campaign.receipt_count,
        "created_at": campaign.created_at, "published_at": campaign.published_at,
        "closed_at": campaign.closed_at, "version": campaign.version,
    }


def campaign_detail(session, actor, campaign: Campaign) -> dict:
    """The campaign with its attachments, the notes its receivers above the caller added (what the caller's
    subtree sees), the caller's own receipt and task, and the caller's effective due date."""
    data = campaign_dict(session, campaign)
    names = unit_names(session, [campaign.issuer_code])
    data["issuer_name"] = names.get(campaign.issuer_code, "")
    data["attachments"] = [
        {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
         "uploaded_at": a.uploaded_at}
        for a in session.scalars(select(CampaignAttachment).where(CampaignAttachment.campaign_id == campaign.id)
                                 .order_by(CampaignAttachment.id))]
    above = [code for code in ancestors_of(actor.region_code) if len(code) > len(campaign.issuer_code)]
    receipts = session.scalars(select(CampaignReceipt).where(
        CampaignReceipt.campaign_id == campaign.id,
        CampaignReceipt.region_code.in_(above + [actor.region_code]))).all()
    names = unit_names(session, [r.region_code for r in receipts])
    data["receipt_notes"] = [
        {"code": r.region_code, "name": names.get(r.region_code, ""), "note": r.note, "note_at": r.note_at,
         "acknowledged_at": r.acknowledged_at, "due_on": r.due_on}
        for r in sorted(receipts, key=lambda r: r.region_code) if r.region_code != actor.region_code and r.note]
    mine = next((r for r in receipts if r.region_code == actor.region_code), None)
    data["my_receipt"] = receipt_dict(mine) if mine else None
    data["my_task_id"] = session.scalar(select(Task.id).where(Task.campaign_id == campaign.id,
                                                              Task.region_code == actor.region_code))
    due = [r.due_on for r in receipts if r.due_on is not None]
    data["my_due_on"] = max([campaign.due_on, *due])
    return data


def receipt_dict(receipt: CampaignReceipt) -> dict:
    return {"campaign_id": receipt.campaign_id, "region_code": receipt.region_code,
            "acknowledged": receipt.acknowledged_at is not None, "acknowledged_at": receipt.acknowledged_at,
            "acknowledged_by_id": receipt.acknowledged_by_id, "note": receipt.note, "note_at": receipt.note_at,
            "due_on": receipt.due_on}


# --- creating and editing drafts -----------------------------------------------------------------------

FIELDS = ("title", "directive", "kind", "target_level", "reviewer_level", "starts_on", "due_on", "questions")


def _prefill(data: dict) -> tuple[dict, dict]:
    """Fill what is not given from the named template."""
    errors: dict = {}
    name = data.get("template")
    if not name:
        return dict(data), errors
    template = catalog.get_template(name)
    if template is None:
        _add(errors, "template", TEMPLATE_INVALID)
        return dict(data), errors
    merged = dict(data)
    for key in ("title", "directive", "kind", "questions"):
        if merged.get(key) in (None, ""):
            merged[key] = template[key]
    return merged, errors


def validate_campaign(data: dict, issuer_code: str, today: date) -> tuple[dict, dict]:
    """Per-field errors and the clean values of a campaign draft."""
    errors: dict = {}
    clean: dict = {}
    issuer_level = int(level_of(issuer_code))
    title = (data.get("title") or "").strip() if isinstance(data.get("title"), str) else ""
    if not title:
        _add(errors, "title", REQUIRED)
    elif len(title) > MAX_TITLE:
        _add(errors, "title", TITLE_TOO_LONG)
    clean["title"] = title
    directive = data.get("directive") or ""
    if not isinstance(directive, str):
        _add(errors, "directive", _l("须为文字"))
        directive = ""
    elif len(directive) > MAX_DIRECTIVE:
        _add(errors, "directive", DIRECTIVE_TOO_LONG)
    clean["directive"] = directive.strip()
    if data.get("kind") not in KINDS:
        _add(errors, "kind", KIND_INVALID)
    clean["kind"] = data.get("kind")
    target = level_value(data.get("target_level") if data.get("target_level") not in (None, "") else 5)
    if target is None or target <= issuer_level:
        _add(errors, "target_level", _l("下发层级须低于本单位"))
        target = None
    raw_reviewer = data.get("reviewer_level")
    if raw_reviewer in (None, ""):
        # The township reviews by default; a campaign to a higher level is reviewed one level above it.
        reviewer = min(int(Level.township), target - 1) if target else None
        reviewer = max(reviewer, issuer_level) if reviewer else None
    else:
        reviewer = level_value(raw_reviewer)
        if reviewer is None:
            _add(errors, "reviewer_level", _l("层级无效"))
    if target and reviewer and not issuer_level <= reviewer < target:
        _add(errors, "reviewer_level", _l("审核层级须在本单位与下发层级之间"))
    clean["target_level"], clean["reviewer_level"] = target, reviewer
    starts_on = data.get("starts_on") or today
    due_on = data.get("due_on")
    if not isinstance(starts_on, date):
        _add(errors, "starts_on", _l("日期格式无效"))
    if due_on is None:
        _add(errors, "due_on", REQUIRED)
    elif not isinstance(due_on, date):
        _add(errors, "due_on", _l("日期格式无效"))
    elif due_on < today:
        _add(errors, "due_on", _l("截止日期不能早于今天"))
    elif isinstance(starts_on, date) and due_on < starts_on:
        _add(errors, "due_on", _l("截止日期不能早于开始日期"))
    clean["starts_on"], clean["due_on"] = starts_on, due_on
    questions = data.get("questions")
    questions = [] if questions is None else questions
    errors.update(validate_questions(questions))
    clean["questions"] = questions
    if isinstance(questions, list):
        clean["questions"] = [{k: v for k, v in q.items() if v is not None} if isinstance(q, dict) else q
                              for q in questions]
    return clean, errors


def campaign_errors(actor, data: dict) -> dict:
    """The field errors creating `data` would give, writing nothing (pages merge them with their own)."""
    merged, errors = _prefill(data)
    errors.update(validate_campaign(merged, actor.region_code, clock.today_cst())[1])
    return errors


def create_campaign(session, actor, data: dict) -> Campaign:
    require_issue(actor)
    merged, errors = _prefill(data)
    clean, more = validate_campaign(merged, actor.region_code, clock.today_cst())
    errors.update(more)
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    campaign = Campaign(issuer_code=actor.region_code, template=merged.get("template") or None,
                        created_by_id=actor.id, created_at=clock.now(), status="draft", **clean)
    session.add(campaign)
    session.flush()
    return campaign


def check_version(campaign: Campaign, version) -> None:
    if version is not None and version != campaign.version:
        raise Conflict(_l("该工作部署已被他人修改，请刷新后重试"),
                       current_version=campaign.version)


def update_draft(session, actor, campaign_id: int, data: dict) -> Campaign:
    """Change a draft; `version` must match (409 otherwise). Fields not given keep their values."""
    campaign = get_campaign(session, actor, campaign_id)
    require_issuer(actor, campaign)
    if campaign.status != "draft":
        raise Conflict(_l("已发布的工作部署不能修改"))
    if data.get("version") is None:
        raise ValidationFailed(INVALID, errors={"version": [REQUIRED]})
    check_version(campaign, data["version"])
    current = {field: getattr(campaign, field) for field in FIELDS}
    current.update({k: v for k, v in data.items() if k in FIELDS and v is not None})
    clean, errors = validate_campaign(current, campaign.issuer_code, clock.today_cst())
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    for field, value in clean.items():
        setattr(campaign, field, value)
    session.flush()
    return campaign


def delete_draft(session, actor, campaign_id: int) -> None:
    campaign = get_campaign(session, actor, campaign_id)
    require_issuer(actor, campaign)
    if campaign.status != "draft":
        raise Conflict(_l("已发布的工作部署不能删除"))
    session.delete(campaign)
    session.flush()


# --- receipts (签收) --------------------------------------------------------------------------------------

def my_receipt(session, actor, campaign_id: int) -> CampaignReceipt:
    campaign = get_campaign(session, actor, campaign_id)
    receipt = session.execute(select(CampaignReceipt).where(
        CampaignReceipt.campaign_id == campaign.id,
        CampaignReceipt.region_code == actor.region_code)).scalar_one_or_none()
    if receipt is None:
        raise NotFound(_l("本单位没有该工作部署的签收"))
    return receipt


def acknowledge(session, actor, campaign_id: int, note: str | None = None) -> CampaignReceipt:
    """Acknowledge (签收) the directive as an intermediate unit's staff; a note given is saved and shown to
    the unit's subtree. Acknowledging again only updates the note."""
    receipt = my_receipt(session, actor, campaign_id)
    if actor.role != "staff":
        raise Forbidden(_l("仅工作人员可签收"))
    if note is not None:
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise ValidationFailed(INVALID, errors={"note": [NOTE_TOO_LONG]})
        if note.strip() != receipt.note:
            receipt.note = note.strip()
            receipt.note_at = clock.now()
    if receipt.acknowledged_at is None:
        receipt.acknowledged_at = clock.now()
        receipt.acknowledged_by_id = actor.id
    session.flush()
    return receipt


# --- which units a campaign reaches --------------------------------------------------------------------

def tracked_unit(actor, campaign: Campaign, unit: str | None) -> str:
    """The unit whose figures the caller asks for: in the caller's subtree and in the campaign's tree, at or
    above the target level. Default: the caller's unit, or the issuer when the caller is above it."""
    default = actor.region_code if actor.region_code.startswith(campaign.issuer_code) else campaign.issuer_code
    code = (unit or default).strip()
    target_length = CODE_LENGTHS[Level(campaign.target_level)]
    if (not code.isdigit() or len(code) not in CODE_LENGTHS.values() or not code.startswith(actor.region_code)
            or not code.startswith(campaign.issuer_code) or len(code) > target_length):
        raise NotFound(_l("单位不在该工作部署的范围内"))
    return code
