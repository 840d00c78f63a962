"""Authentication: passwords with throttling, API tokens, and resolving the caller of a request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from hierarchy.models import utcnow
from hierarchy.scope import Scope, scoped
from tenant_app.auth.models import ApiToken, LoginThrottle, User
from tenant_app.auth.passwords import hash_password, needs_rehash, verify_password
from tenant_app.errors import RateLimited, Unauthorized

BAD_CREDENTIALS = "用户名或密码错误 / Wrong username or password"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- throttling ------------------------------------------------------------------------------------

def _throttle_keys(username: str, client_ip: str | None) -> list[tuple[str, int]]:
    cfg = current_app.config
    keys = [(f"user:{username.lower()}", cfg["SHOUHU_LOGIN_MAX_FAILURES"])]
    if client_ip:
        keys.append((f"ip:{client_ip}", cfg["SHOUHU_LOGIN_IP_MAX_FAILURES"]))
    return keys


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["SHOUHU_LOGIN_WINDOW_SECONDS"])


def check_throttle(session, username: str, client_ip: str | None, now: datetime) -> None:
    for key, limit in _throttle_keys(username, client_ip):
        row = session.get(LoginThrottle, key)
        if row and row.failures >= limit and now - row.window_start < _window():
            retry = int((row.window_start + _window() - now).total_seconds()) + 1
            raise RateLimited("登录失败次数过多，请稍后再试 / Too many failed logins; try again later",
                              headers={"Retry-After": str(retry)})


def record_failure(username: str, client_ip: str | None, now: datetime) -> None:
    """Count a failure in its own transaction so it survives the request's rollback."""
    from tenant_app.db import db

    with db.session_scope(Scope()) as session:
        for key, _limit in _throttle_keys(username, client_ip):
            row = session.get(LoginThrottle, key, with_for_update=True)
            if row is None:
                session.add(LoginThrottle(key=key, failures=1, window_start=now))
                try:
                    session.flush()
                except Exception:  # a concurrent first failure created it: count on that row
                    session.rollback()
                    row = session.get(LoginThrottle, key, with_for_update=True)
                    row.failures += 1
            elif now - row.window_start >= _window():
                row.failures, row.window_start = 1, now
            else:
                row.failures += 1


def clear_failures(session, username: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"user:{username.lower()}"))


# --- credentials -----------------------------------------------------------------------------------

def authenticate(session, username: str, password: str, client_ip: str | None) -> User:
    """Return the active user with these credentials, or raise Unauthorized / RateLimited.

    An unknown user, a wrong password and a disabled account give the same message.
    """
    now = utcnow()
    username = (username or "").strip()
    check_throttle(session, username, client_ip, now)
    with scoped(Scope(auth_username=username)):
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        session.rollback()
        record_failure(username, client_ip, now)
        raise Unauthorized(BAD_CREDENTIALS)
    with scoped(Scope(auth_username=username)):
        user.last_login_at = now
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        clear_failures(session, username)
        session.flush()
    return user


def issue_token(session, user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=current_app.config["SHOUHU_TOKEN_TTL_HOURS"])
    with scoped(Scope(auth_user_id=user.id, unit_code=user.region_code)):
        session.add(ApiToken(user_id=user.id, region_code=user.region_code,
                             token_hash=_hash_token(token), expires_at=expires_at))
        session.flush()
    return token, expires_at


def revoke_tokens(session, user: User) -> None:
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked = True


# --- resolving the caller --------------------------------------------------------------------------

def load_session_user(session, session_id: str) -> User | None:
    """flask-login's session id is "<user id>:<auth epoch>"; a disabled user or an old epoch is no one."""
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except (ValueError, AttributeError):
        return None
    with scoped(Scope(auth_user_id=user_id)):
        user = session.get(User, user_id)
    if user is None or not user.active or user.auth_epoch != epoch:
        return None
    return user


def load_token_user(session, token: str) -> User | None:
    token_hash = _hash_token(token)
    with scoped(Scope(auth_token_hash=token_hash)):
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()
    if row is None or row.revoked or row.expires_at <= utcnow():
        return None
    with scoped(Scope(auth_user_id=row.user_id)):
        user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user
