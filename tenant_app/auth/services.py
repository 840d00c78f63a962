"""Authentication: passwords with throttling (tenant_app.auth.throttle), API tokens, and resolving the caller
of a request."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import column, select, text
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from hierarchy.citus import CITUS_INFO
from hierarchy.models import Unit, utcnow
from hierarchy.scope import DB_ROLES_INFO, Scope, apply_db_scope, note_db_scope, scoped
from tenant_app.auth import throttle
from tenant_app.auth.models import PARTNER_ROLES, ApiToken, User
from tenant_app.auth.passwords import hash_password, needs_rehash, verify_password
from tenant_app.errors import Unauthorized
from tenant_app.i18n import _l

BAD_CREDENTIALS = _l("用户名或密码错误")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- finding the caller before its scope is known ---------------------------------------------------

def _on_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _user_unit_by_name(session, username: str) -> tuple[int, str] | None:
    """(user id, unit code) of a username. On PostgreSQL the web role reads no user outside a unit's scope,
    so this goes through a SECURITY DEFINER function that returns just these two values (migration 0011)."""
    if _on_postgresql(session):
        row = session.execute(text("SELECT user_id, unit_code FROM shouhu_auth_login(:name)"),
                              {"name": username}).first()
    else:
        with scoped(Scope(auth_username=username)):
            row = session.execute(select(User.id, User.region_code).where(User.username == username)).first()
    return (row[0], row[1]) if row is not None else None


def _user_unit_by_id(session, user_id: int) -> str | None:
    if _on_postgresql(session):
        return session.execute(text("SELECT shouhu_auth_user_unit(:id)"), {"id": user_id}).scalar()
    with scoped(Scope(auth_user_id=user_id)):
        return session.execute(select(User.region_code).where(User.id == user_id)).scalar()


def _token_owner(session, token_hash: str) -> tuple[int, str, bool, datetime] | None:
    """(user id, the user's unit code, revoked, expires at) of a token, on SQLite (the quick start); PostgreSQL
    reads the token and its user in one statement (`load_token_user`)."""
    with scoped(Scope(auth_token_hash=token_hash)):
        token = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()
    region_code = _user_unit_by_id(session, token.user_id) if token is not None else None
    return (token.user_id, region_code, token.revoked, token.expires_at) if region_code else None


def _user_in_unit(session, user_id: int, unit_code: str | None) -> User | None:
    """The user row, read under the narrowest scope that holds it: a partner scope of the user itself opens its
    own row and nothing else in users (whatever the role, which is not known before the row is read)."""
    if not unit_code:
        return None
    with scoped(Scope.partner(unit_code, user_id)):
        return session.get(User, user_id)


# --- credentials -----------------------------------------------------------------------------------

def authenticate(session, username: str, password: str, client_ip: str | None,
                 device: throttle.Device | None = None) -> User:
    """Return the active user with these credentials, or raise Unauthorized / RateLimited.

    An unknown user, a wrong password and a disabled account give the same message. `device`: the known
    device of the request (tenant_app.auth.throttle), which has its own, separate limits.
    """
    username = (username or "").strip()
    found = _user_unit_by_name(session, username) if username else None
    user_id = found[0] if found else None
    throttle.check(username, client_ip, user_id, device)
    user = _user_in_unit(session, *found) if found else None
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        session.rollback()
        throttle.record_failure(username, client_ip, user_id, device)
        raise Unauthorized(BAD_CREDENTIALS)
    with scoped(user.scope):
        user.last_login_at = utcnow()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        session.flush()
    return user


def issue_token(session, user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=current_app.config["SHOUHU_TOKEN_TTL_HOURS"])
    with scoped(dataclasses.replace(user.scope, auth_user_id=user.id)):
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
    if not -2**31 <= user_id < 2**31:
        return None
    user = _user_in_unit(session, user_id, _user_unit_by_id(session, user_id))
    if user is None or not user.active or user.auth_epoch != epoch:
        return None
    return user


# The columns shouhu_auth_token returns besides the token's own (migration 0014).
_TOKEN_USER_FIELDS = ("username", "role", "real_name", "phone", "active", "auth_epoch", "created_at", "updated_at",
                      "disabled_at", "last_login_at", "created_by_id", "must_change_password")
_TOKEN_UNIT_FIELDS = ("name", "level", "parent_code", "retired", "retired_at", "created_at", "updated_at")


def load_token_user(session, token: str) -> User | None:
    if _on_postgresql(session):
        # One statement: the token's state, the user's row and the user's unit (an API request's first work),
        # and, for a token that is valid, the database scope of the caller's requests for this transaction.
        connection = session.connection()
        roles = connection.info.get(DB_ROLES_INFO)
        params = {"h": _hash_token(token)}
        if roles:
            params["role"] = roles[0]
        # On the session's connection, not through the ORM (a textual row; nothing to scope or flush yet).
        row = connection.execute(_token_statement(bool(roles)), params).mappings().first()
        if row is None or row["revoked"] or _as_naive_utc(row["expires_at"]) <= _as_naive_utc(utcnow()):
            return None
        if not row["active"]:
            return None
        scope = None
        if row["role"] in PARTNER_ROLES:
            if row["partner_set"] == str(row["user_id"]):
                scope = Scope.partner(row["unit_code"], row["user_id"])
        elif row["scope_set"] == row["unit_code"]:
            scope = Scope.unit(row["unit_code"])
        if scope is not None:
            if connection.info.get(CITUS_INFO):
                # The statement's set_config() stayed on the coordinator: set the scope again where the
                # workers get it too (hierarchy.citus).
                apply_db_scope(connection, scope)
            note_db_scope(session, scope)
        return _token_identity(session, row)
    owner = _token_owner(session, _hash_token(token))
    if owner is None:
        return None
    user_id, unit_code, revoked, expires_at = owner
    if revoked or _as_naive_utc(expires_at) <= _as_naive_utc(utcnow()):
        return None
    user = _user_in_unit(session, user_id, unit_code)
    if user is None or not user.active:
        return None
    return user


# The columns of shouhu_auth_token (migration 0016), in order.
_TOKEN_COLUMNS = ("user_id", "unit_code", "revoked", "expires_at", *_TOKEN_USER_FIELDS,
                  *(f"unit_{f}" for f in _TOKEN_UNIT_FIELDS))


@lru_cache(maxsize=2)
def _token_statement(with_role: bool):
    """The token function's row with the caller's database scope set in the same statement (a round trip saved
    on every API request), only when the token is valid and its user active, as the application then decides
    too; with the application role (`:role`) when the connection switches roles (tenant_app.db). A partner
    reporter gets the partner scope (no unit, its unit and its own id as the partner settings: User.scope),
    never its unit's.

    Built once, with its columns named in order: the result's description is then matched once and cached with
    the compiled statement instead of on every request."""
    valid = "NOT t.revoked AND t.expires_at > now() AND t.active"
    partner = f"{valid} AND t.role IN ('reporter', 'department')"
    names = [*_TOKEN_COLUMNS, "scope_set", "partner_unit_set", "partner_set"]
    columns = (f"set_config('app.scope', CASE WHEN {valid} AND t.role NOT IN ('reporter', 'department') "
               "THEN t.unit_code ELSE '' END,"
               " true) AS scope_set, "
               f"set_config('app.partner_unit', CASE WHEN {partner} THEN t.unit_code ELSE '' END, true)"
               " AS partner_unit_set, "
               f"set_config('app.partner_user', CASE WHEN {partner} THEN t.user_id::text ELSE '' END, true)"
               " AS partner_set")
    if with_role:
        columns += ", set_config('role', :role, true) AS role_set"
        names.append("role_set")
    own = ", ".join(f"t.{name}" for name in _TOKEN_COLUMNS)
    return text(f"SELECT {own}, {columns} FROM shouhu_auth_token(:h) AS t").columns(*(column(n) for n in names))


def _token_identity(session, row) -> User:
    """The user (with its unit) from the token function's row, as persistent objects of `session`, without
    reading them again; the password hash is not in the row and loads only if something asks for it."""
    user = session.identity_map.get(session.identity_key(User, row["user_id"]))
    if user is not None:
        return user
    unit = session.identity_map.get(session.identity_key(Unit, row["unit_code"]))
    if unit is None:
        unit = _persistent(session, Unit, {"code": row["unit_code"],
                                           **{f: row[f"unit_{f}"] for f in _TOKEN_UNIT_FIELDS}})
    user = _persistent(session, User, {"id": row["user_id"], "region_code": row["unit_code"],
                                       **{f: row[f] for f in _TOKEN_USER_FIELDS}})
    set_committed_value(user, "unit", unit)
    return user


def _persistent(session, cls, values: dict):
    """An instance of `cls` with these column values as loaded (not changed), persistent in `session` without a
    read: what loading the row would give. The values go into the instance's dict as a load puts them, not
    through the constructor's instrumented attribute sets, which cost a few hundred calls per request."""
    instance = cls.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)  # the identity key; every other column is left to load when asked
    session.add(instance)
    return instance


def _as_naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
