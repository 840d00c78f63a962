"""User management, scoped: an admin manages the users of its own subtree and never grants more than it holds."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit, utcnow
from tenant_app.auth.models import PARTNER_KINDS, ROLES, User
from tenant_app.auth.passwords import hash_password, password_problems
from tenant_app.auth.services import revoke_tokens
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{5,32}$")
MAX_REAL_NAME = User.__table__.c.real_name.type.length
USERNAME_INVALID = _l("用户名为 3-64 位字母、数字或 _ . -")
PHONE_INVALID = _l("电话号码格式不正确")
REAL_NAME_TOO_LONG = _l("最多 %(n)s 字", n=MAX_REAL_NAME)
REQUIRED = _l("此项必填")
USERNAME_TAKEN = _l("用户名已存在")
# A partner reporter holds less than a viewer (it reads nothing but its own reports): any admin may create one.
ROLE_RANK = {"reporter": 0, "department": 0, "viewer": 0, "staff": 1, "admin": 2}
MAX_ORG_NAME = User.__table__.c.org_name.type.length
# Partners report to the township or the county they work in (a school serves a township, a clinic a county).
PARTNER_LEVELS = (Level.township, Level.county)
# Partner departments (tenant_app.links) are a county's, a city's or a province's.
DEPARTMENT_LEVELS = (Level.county, Level.city, Level.province)


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(_l("需要管理员权限"))


def _can_manage(actor: User, target: User) -> bool:
    if not target.region_code.startswith(actor.region_code):
        return False
    # A peer admin of the same unit is managed from above, not by its peers.
    return not (target.role == "admin" and target.region_code == actor.region_code and target.id != actor.id)


def get_managed_user(session, actor: User, user_id: int) -> User:
    require_admin(actor)
    user = session.get(User, user_id)
    if user is None or not user.region_code.startswith(actor.region_code):
        raise NotFound(_l("用户不存在"))
    if not _can_manage(actor, user):
        raise Forbidden(_l("不能管理同级管理员"))
    return user


def list_users(session, actor: User, unit_code: str | None = None, *, page: int = 1, per_page: int = 50,
               include_subtree: bool = True):
    """Users of the actor's subtree (optionally of one unit below it), newest units first by code."""
    scope_code = unit_code or actor.region_code
    if not scope_code.startswith(actor.region_code):
        raise NotFound(_l("单位不存在"))
    query = select(User)
    if include_subtree:
        query = query.where(User.region_code >= scope_code, User.region_code < scope_code + ":")
    else:
        query = query.where(User.region_code == scope_code)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(User.region_code, User.username).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return rows, total


def contacts_of(session, unit_codes: list[str]) -> dict[str, list[User]]:
    """Active staff of the given units: a village's children's directors, a township's supervisors."""
    if not unit_codes:
        return {}
    rows = session.scalars(
        select(User).where(User.region_code.in_(unit_codes), User.active.is_(True), User.role == "staff")
        .order_by(User.region_code, User.real_name)
    ).all()
    result: dict[str, list[User]] = {}
    for user in rows:
        result.setdefault(user.region_code, []).append(user)
    return result


def validate_new_user(session, actor: User, data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    username = (data.get("username") or "").strip()
    role = data.get("role") or ""
    unit_code = (data.get("unit_code") or "").strip()
    real_name = (data.get("real_name") or "").strip()
    phone = (data.get("phone") or "").strip()
    password = data.get("password") or ""

    if not USERNAME_RE.match(username):
        errors.setdefault("username", []).append(USERNAME_INVALID)
    elif session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        errors.setdefault("username", []).append(USERNAME_TAKEN)
    if role not in ROLES:
        errors.setdefault("role", []).append(_l("角色无效"))
    elif ROLE_RANK[role] > ROLE_RANK[actor.role]:
        errors.setdefault("role", []).append(_l("不能授予高于自己的权限"))
    if not is_valid_code(unit_code) or not unit_code.startswith(actor.region_code):
        errors.setdefault("unit_code", []).append(_l("单位不在管辖范围内"))
    else:
        unit = session.get(Unit, unit_code)
        if unit is None or unit.retired:
            errors.setdefault("unit_code", []).append(_l("单位不存在或已撤销"))
        elif role == "admin" and unit_code == actor.region_code and actor.role == "admin":
            pass  # an admin may add a fellow admin to its own unit: same rights, same subtree
    if not real_name:
        errors.setdefault("real_name", []).append(REQUIRED)
    elif len(real_name) > MAX_REAL_NAME:
        errors.setdefault("real_name", []).append(REAL_NAME_TOO_LONG)
    if phone and not PHONE_RE.match(phone):
        errors.setdefault("phone", []).append(PHONE_INVALID)
    if not phone:
        errors.setdefault("phone", []).append(REQUIRED)
    problems = password_problems(password)
    if problems:
        errors["password"] = problems
    if role == "reporter":
        _check_partner(data, unit_code, errors)
    if role == "department":
        _check_department(data, unit_code, errors)
    return errors


def _check_department(data: dict, unit_code: str, errors: dict) -> None:
    from tenant_app.links.enums import DEPT_KINDS

    if is_valid_code(unit_code) and level_of(unit_code) not in DEPARTMENT_LEVELS:
        errors.setdefault("unit_code", []).append(_l("合作部门须隶属县（区）、市或省"))
    if (data.get("org_kind") or "") not in DEPT_KINDS:
        errors.setdefault("org_kind", []).append(REQUIRED if not data.get("org_kind") else _l("部门类别无效"))
    org_name = (data.get("org_name") or "").strip()
    if not org_name:
        errors.setdefault("org_name", []).append(REQUIRED)
    elif len(org_name) > MAX_ORG_NAME:
        errors.setdefault("org_name", []).append(_l("最多 %(n)s 字", n=MAX_ORG_NAME))


def _check_partner(data: dict, unit_code: str, errors: dict) -> None:
    if is_valid_code(unit_code) and level_of(unit_code) not in PARTNER_LEVELS:
        errors.setdefault("unit_code", []).append(_l("合作报告机构须隶属乡镇（街道）或县（区）"))
    if (data.get("org_kind") or "") not in PARTNER_KINDS:
        errors.setdefault("org_kind", []).append(REQUIRED if not data.get("org_kind") else _l("机构类别无效"))
    org_name = (data.get("org_name") or "").strip()
    if not org_name:
        errors.setdefault("org_name", []).append(REQUIRED)
    elif len(org_name) > MAX_ORG_NAME:
        errors.setdefault("org_name", []).append(_l("最多 %(n)s 字", n=MAX_ORG_NAME))


def create_user(session, actor: User, data: dict) -> User:
    require_admin(actor)
    errors = validate_new_user(session, actor, data)
    if errors:
        raise ValidationFailed(_l("用户数据有误"), errors=errors)
    user = User(
        username=data["username"].strip(),
        role=data["role"],
        region_code=data["unit_code"].strip(),
        real_name=data["real_name"].strip(),
        phone=data["phone"].strip(),
        password_hash=hash_password(data["password"]),
        created_by_id=actor.id,
        must_change_password=True,  # the admin knows this password: its owner chooses their own at first login
    )
    if user.role in ("reporter", "department"):
        user.org_kind = data["org_kind"]
        user.org_name = data["org_name"].strip()
    # Usernames are unique across all tenants; one taken outside the actor's subtree is invisible to
    # the check above and surfaces here as a constraint violation.
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise ValidationFailed(_l("用户数据有误"), errors={"username": [USERNAME_TAKEN]}) from None
    return user


def disable_user(session, actor: User, user_id: int) -> User:
    user = get_managed_user(session, actor, user_id)
    if user.id == actor.id:
        raise Conflict(_l("不能停用自己"))
    if user.active:
        user.active = False
        user.disabled_at = utcnow()
        user.auth_epoch += 1
        user.updated_at = utcnow()
        revoke_tokens(session, user)
    session.flush()
    return user


def enable_user(session, actor: User, user_id: int) -> User:
    user = get_managed_user(session, actor, user_id)
    if not user.active:
        user.active = True
        user.disabled_at = None
        user.updated_at = utcnow()
    session.flush()
    return user


def reset_password(session, actor: User, user_id: int, new_password: str) -> User:
    user = get_managed_user(session, actor, user_id)
    problems = password_problems(new_password or "")
    if problems:
        raise ValidationFailed(_l("密码不符合要求"), errors={"password": problems})
    user.password_hash = hash_password(new_password)
    user.must_change_password = user.id != actor.id  # set by someone else: to be changed at next login
    user.auth_epoch += 1
    user.updated_at = utcnow()
    revoke_tokens(session, user)
    session.flush()
    return user


def bootstrap_user(session, *, unit_code: str, username: str, role: str, password: str,
                   real_name: str = "", phone: str = "") -> User:
    """Operator command: create a user without an acting admin (the first admin of a unit)."""
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username or ""):
        errors["username"] = ["invalid username"]
    elif session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        errors["username"] = ["username already taken"]
    if role not in ROLES:
        errors["role"] = [f"role must be one of {', '.join(ROLES)}"]
    unit = session.get(Unit, unit_code) if is_valid_code(unit_code or "") else None
    if unit is None:
        errors["unit"] = [f"no unit with code {unit_code}"]
    problems = password_problems(password or "")
    if problems:
        errors["password"] = problems
    if errors:
        raise ValidationFailed("invalid user", errors=errors)
    user = User(username=username, role=role, region_code=unit_code, real_name=real_name or username,
                phone=phone, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user
