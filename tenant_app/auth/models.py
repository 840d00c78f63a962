"""Users and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hierarchy.codes import Level
from hierarchy.models import Base, Unit, code_column_type, utcnow
from hierarchy.province import province_code_column
from hierarchy.scope import Scope, scope_param

ROLES = ("admin", "staff", "viewer", "reporter", "department")
# Partner reporters (the `reporter` role) are organisations outside the administration that must report.
PARTNER_KINDS = ("school", "kindergarten", "clinic", "social_work", "police")
# Partner departments (the `department` role: tenant_app.links) keep rolls that are matched against the records.
PARTNER_ROLES = ("reporter", "department")


def _user_auth_criteria(shape):
    if shape.auth_user_id:
        return User.id == scope_param("auth_user_id")
    if shape.auth_username:
        return User.username == scope_param("auth_username")
    return None


def _user_auth_match(user, scope) -> bool:
    return (scope.auth_user_id is not None and user.id == scope.auth_user_id) or (
        bool(scope.auth_username) and user.username == scope.auth_username)


def _user_partner_criteria():
    return User.id == scope_param("partner_user")  # a partner reads its own account only


def _user_partner_match(user, scope, is_new) -> bool:
    # Its login time and password; it stays a partner (another role would open its unit's scope).
    return not is_new and user.id == scope.partner_user_id and user.role in PARTNER_ROLES


def _token_partner_criteria():
    return ApiToken.user_id == scope_param("partner_user")


def _token_partner_match(token, scope, is_new) -> bool:
    return token.user_id == scope.partner_user_id


def _token_auth_criteria(shape):
    if shape.auth_token_hash:
        return ApiToken.token_hash == scope_param("auth_token_hash")
    return None


class User(Base):
    """A person working in one unit with one role. Units above see a user's name and phone as a contact."""

    __tablename__ = "users"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"
    __scope_auth_criteria__ = staticmethod(_user_auth_criteria)
    __scope_auth_match__ = staticmethod(_user_auth_match)
    __scope_partner_criteria__ = staticmethod(_user_partner_criteria)
    __scope_partner_match__ = staticmethod(_user_partner_match)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    real_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Bumped when the user is disabled or the password is reset: older sessions stop working at once.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    # Set when an admin chose the password (a new account, a reset): the person must choose their own first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A partner reporter's organisation (school, clinic, ...): its kind and name. Empty for other roles.
    org_kind: Mapped[str | None] = mapped_column(String(16))
    org_name: Mapped[str] = mapped_column(String(100), default="", server_default="")

    unit: Mapped[Unit] = relationship(lazy="select")

    __table_args__ = (Index("ix_users_region_code", "region_code"),)

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_epoch}"

    @property
    def level(self) -> Level:
        return Level(self.unit.level)

    @property
    def can_work(self) -> bool:
        return self.role == "staff"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_reporter(self) -> bool:
        return self.role == "reporter"

    @property
    def is_department(self) -> bool:
        return self.role == "department"

    @property
    def scope(self) -> Scope:
        """The scope of this user's requests, in both locks: its unit's subtree, or for a partner reporter the
        partner scope (filing reports in its unit's villages and following its own, nothing else)."""
        if self.role in PARTNER_ROLES:
            return Scope.partner(self.region_code, self.id)
        return Scope.unit(self.region_code)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"
    __scope_auth_criteria__ = staticmethod(_token_auth_criteria)
    __scope_partner_criteria__ = staticmethod(_token_partner_criteria)
    __scope_partner_match__ = staticmethod(_token_partner_match)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(code_column_type())
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship(lazy="select")

    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)
