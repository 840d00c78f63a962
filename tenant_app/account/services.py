"""Changing one's own password, and the gate that holds a user who must change it first.

An admin who creates an account or resets a password knows that password, so the account is flagged
`must_change_password`; until its owner chooses a new one, pages redirect to the change page and the API
answers 403 with the code `password_change_required` (except the change itself and logging out).
"""

from __future__ import annotations

from sqlalchemy import select

from hierarchy.models import utcnow
from tenant_app.auth.models import ApiToken, User
from tenant_app.auth.passwords import hash_password, password_problems, verify_password
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l

CHANGE_REQUIRED_CODE = "password_change_required"
CHANGE_REQUIRED = _l("请先修改初始密码")
REJECTED = _l("密码未修改")
WRONG_CURRENT = _l("当前密码不正确")
SAME_AS_CURRENT = _l("新密码不能与当前密码相同")
MISMATCH = _l("两次输入的新密码不一致")
REQUIRED = _l("此项必填")


def password_change_errors(user: User, current: str, new: str, confirm: str | None) -> dict[str, list[str]]:
    """Field errors of a change request; empty when it may go ahead. `confirm` None: not asked (the API)."""
    errors: dict[str, list[str]] = {}
    if not current:
        errors["current_password"] = [REQUIRED]
    elif not verify_password(user.password_hash, current):
        errors["current_password"] = [WRONG_CURRENT]
    if not new:
        errors["new_password"] = [REQUIRED]
    else:
        problems = password_problems(new)
        if problems:
            errors["new_password"] = problems
        elif current and new == current:
            errors["new_password"] = [SAME_AS_CURRENT]
    if confirm is not None and new and confirm != new:
        errors["confirm_password"] = [MISMATCH]
    return errors


def change_own_password(session, user: User, current: str, new: str, confirm: str | None = None,
                        keep_token_hash: str | None = None) -> User:
    """Set the caller's new password; other sessions and API tokens stop working (the caller's token stays)."""
    errors = password_change_errors(user, current or "", new or "", confirm)
    if errors:
        raise ValidationFailed(REJECTED, errors=errors)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.auth_epoch += 1
    user.updated_at = utcnow()
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))):
        if token.token_hash != keep_token_hash:
            token.revoked = True
    session.flush()
    return user
