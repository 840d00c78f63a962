"""Files attached to a campaign's directive: added by the issuer's staff (also after publishing, not once
closed), readable wherever the campaign is."""

from __future__ import annotations

import io
import os

from flask import send_file
from sqlalchemy import select

from tenant_app import clock, uploads
from tenant_app.campaigns.models import CampaignAttachment
from tenant_app.campaigns.services import get_campaign, require_issuer
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l

MAX_BYTES = 10 * 1024 * 1024
ALLOWED_EXTENSIONS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png")


def _clean_name(filename: str) -> str:
    # Browsers may send a path; keep the last part, without control characters.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable()).strip()[:200]


def add_attachment(session, actor, campaign_id: int, filename: str | None, content: bytes | None
                   ) -> CampaignAttachment:
    campaign = get_campaign(session, actor, campaign_id)
    require_issuer(actor, campaign)
    if campaign.status == "closed":
        raise Conflict(_l("工作部署已结束"))
    name = _clean_name(filename or "")
    extension = os.path.splitext(name)[1].lower()
    if not name or content is None:
        raise ValidationFailed(_l("附件有误"), errors={"file": [_l("请选择文件")]})
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationFailed(_l("附件有误"), errors={"file": [
            _l("仅支持 pdf、doc、docx、xls、xlsx、jpg、png")]})
    if len(content) > MAX_BYTES:
        raise ValidationFailed(_l("附件有误"), errors={"file": [
            _l("文件不能超过10MB")]})
    if not content:
        raise ValidationFailed(_l("附件有误"), errors={"file": [_l("文件为空")]})
    # Judged by the content: what is stored is served with this type, so it must be what it says it is.
    content_type = uploads.checked_content_type(name, content, ALLOWED_EXTENSIONS)
    if content_type is None:
        raise ValidationFailed(_l("附件有误"), errors={"file": [
            _l("文件内容与扩展名不符")]})
    attachment = CampaignAttachment(campaign_id=campaign.id, issuer_code=campaign.issuer_code, filename=name,
                                    content_type=content_type, size=len(content), content=content,
                                    uploaded_by_id=actor.id, uploaded_at=clock.now())
    session.add(attachment)
    session.flush()
    return attachment


def get_attachment(session, actor, campaign_id: int, attachment_id: int) -> CampaignAttachment:
    campaign = get_campaign(session, actor, campaign_id)
    attachment = session.execute(select(CampaignAttachment).where(
        CampaignAttachment.id == attachment_id, CampaignAttachment.campaign_id == campaign.id)).scalar_one_or_none()
    if attachment is None:
        raise NotFound(_l("未找到附件"))
    return attachment


def download_response(attachment: CampaignAttachment):
    """Always a download, never rendered: Content-Disposition attachment with the content type checked again
    against the bytes (rows stored before uploads were checked by content fall back to octet-stream)."""
    content_type = uploads.checked_content_type(attachment.filename, attachment.content) or "application/octet-stream"
    response = send_file(io.BytesIO(attachment.content), mimetype=content_type, as_attachment=True,
                         download_name=attachment.filename or "attachment")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
