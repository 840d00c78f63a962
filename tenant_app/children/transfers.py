"""Moving a child to another village: the sending village requests, the receiving village accepts.

Until acceptance the receiving village sees the request only (name and masked ID number), not the record.
Acceptance moves the record and its history under the lowest common ancestor's scope, a narrow move done
here and nowhere else.
"""

from __future__ import annotations

from sqlalchemy import select, update

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit, utcnow
from tenant_app.children import access
from tenant_app.children.idcard import mask_id
from tenant_app.children.models import Child, ChildChange, ChildTransfer
from tenant_app.children.services import _record_change, get_child
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.notifications.services import notify

NO_SUCH = _l("迁移申请不存在")


def _require_village_staff(actor) -> None:
    if actor.role != "staff" or level_of(actor.region_code) != Level.village:
        raise Forbidden(_l("仅村级工作人员可办理迁移"))


def request_transfer(session, actor, child_id: int, to_village: str, reason: str = "") -> ChildTransfer:
    _require_village_staff(actor)
    child = get_child(session, child_id)
    if child.region_code != actor.region_code:
        raise Forbidden(_l("只能由儿童所在村申请迁出"))
    if child.status != "active":
        raise Conflict(_l("已退出的档案不能迁移"))
    to_village = (to_village or "").strip()
    errors = []
    if not is_valid_code(to_village) or level_of(to_village) != Level.village:
        errors.append(_l("请填写12位村（居）代码"))
    elif to_village == child.region_code:
        errors.append(_l("不能迁往本村"))
    elif to_village[:2] != child.province_code:
        errors.append(_l("暂不支持跨省迁移"))
    else:
        with access.narrow_scope(session, child.province_code):
            unit = session.execute(select(Unit.code, Unit.retired).where(Unit.code == to_village)).first()
        if unit is None or unit.retired:
            errors.append(_l("该村（居）不存在或已撤销"))
    if errors:
        raise ValidationFailed(_l("迁移申请有误"), errors={"to_village": errors})
    pending = session.scalar(select(ChildTransfer.id).where(ChildTransfer.child_id == child.id,
                                                            ChildTransfer.status == "requested"))
    if pending is not None:
        raise Conflict(_l("该儿童已有待处理的迁移申请"), transfer_id=pending)
    transfer = ChildTransfer(child_id=child.id, region_code=child.region_code, to_village=to_village,
                             child_name=child.name, id_number_masked=mask_id(child.id_number),
                             reason=(reason or "")[:200], requested_by_id=actor.id, requested_at=utcnow())
    session.add(transfer)
    session.flush()
    # The receiving village is outside the sender's subtree: its notification is written under the scope of
    # the two villages' lowest common unit, like the move itself.
    with access.narrow_scope(session, access.common_ancestor(child.region_code, to_village)):
        notify(session, to_village, "transfer_in", f"迁入申请：{transfer.child_name}", link="/transfers",
               message=transfer.reason, sender=actor)
        session.flush()
    return transfer


def get_transfer(session, transfer_id: int) -> ChildTransfer:
    transfer = session.execute(select(ChildTransfer).where(ChildTransfer.id == transfer_id)).scalar_one_or_none()
    if transfer is None:
        raise NotFound(NO_SUCH)
    return transfer


DECISIONS = {"accepted": "已接收", "rejected": "已拒绝"}


def _decide(session, transfer: ChildTransfer, actor, status: str) -> None:
    transfer.status = status
    transfer.decided_by_id = actor.id
    transfer.decided_at = utcnow()
    session.flush()
    if status in DECISIONS:  # the sending village hears the receiver's decision
        with access.narrow_scope(session, access.common_ancestor(transfer.region_code, transfer.to_village)):
            notify(session, transfer.region_code, "transfer_done",
                   f"迁移{DECISIONS[status]}：{transfer.child_name}", link="/transfers", sender=actor)
            session.flush()


def _pending_for_receiver(session, actor, transfer_id: int) -> ChildTransfer:
    _require_village_staff(actor)
    transfer = get_transfer(session, transfer_id)
    if transfer.to_village != actor.region_code:
        raise Forbidden(_l("只能由接收村办理"))
    if transfer.status != "requested":
        raise Conflict(_l("该申请已处理"))
    return transfer


def accept_transfer(session, actor, transfer_id: int) -> ChildTransfer:
    transfer = _pending_for_receiver(session, actor, transfer_id)
    old_village = transfer.region_code
    ancestor = access.common_ancestor(old_village, transfer.to_village)
    with access.narrow_scope(session, ancestor):
        child = session.execute(select(Child).where(Child.id == transfer.child_id)).scalar_one()
        if child.status != "active" or child.region_code != old_village:
            raise Conflict(_l("该档案已变更，不能迁入"))
        child.region_code = transfer.to_village
        child.updated_by_id = actor.id
        child.updated_at = utcnow()
        session.execute(update(ChildChange).where(ChildChange.child_id == child.id)
                        .values(region_code=transfer.to_village).execution_options(synchronize_session=False))
        session.flush()
        _record_change(session, actor, child, "transfer", {"region_code": [old_village, transfer.to_village]})
        _decide(session, transfer, actor, "accepted")
    return transfer


def reject_transfer(session, actor, transfer_id: int) -> ChildTransfer:
    transfer = _pending_for_receiver(session, actor, transfer_id)
    _decide(session, transfer, actor, "rejected")
    return transfer


def cancel_transfer(session, actor, transfer_id: int) -> ChildTransfer:
    _require_village_staff(actor)
    transfer = get_transfer(session, transfer_id)
    if transfer.region_code != actor.region_code:
        raise Forbidden(_l("只能由申请村撤回"))
    if transfer.status != "requested":
        raise Conflict(_l("该申请已处理"))
    _decide(session, transfer, actor, "cancelled")
    return transfer


def list_transfers(session, actor, direction: str | None = None, status: str | None = None):
    code = actor.region_code
    query = select(ChildTransfer)
    if direction == "incoming":
        query = query.where(ChildTransfer.to_village >= code, ChildTransfer.to_village < code + ":")
    elif direction == "outgoing":
        query = query.where(ChildTransfer.region_code >= code, ChildTransfer.region_code < code + ":")
    if status:
        query = query.where(ChildTransfer.status == status)
    return session.scalars(query.order_by(ChildTransfer.requested_at.desc(), ChildTransfer.id.desc())
                           .limit(500)).all()

