"""Tenant scoping, the application lock.

The scope of the current request or job lives in a context variable. A `do_orm_execute` hook adds a
`with_loader_criteria` for every tenant-owned model to every ORM SELECT, and a `before_flush` hook refuses
writes outside the scope. No scope means no rows: deny by default.

The same scope is handed to PostgreSQL with `set_config('app.scope', ..., true)` at the start of each
transaction, where row-level security policies (hierarchy.rls) apply the same predicate: the database lock.
The transaction's role goes with it: the application role for a unit's scope, the jobs role for the
all-tenants scope, which the policies honour for that role only (migration 0011). A partner reporter's scope
(`Scope.partner`) has no unit: it opens only the rows of filing a report and following its own (migration 0019).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Text, and_, bindparam, cast, event, false, or_, true
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.interfaces import CriteriaOption
from sqlalchemy.orm.util import LoaderCriteriaOption

from hierarchy import citus
from hierarchy.codes import ancestors_of, is_valid_code, subtree_bounds
from hierarchy.models import Base
from hierarchy.session_hooks import install_once

ALL_TENANTS = "*"


class ScopeViolation(Exception):
    """A write (or an explicit lookup) reached outside the current scope."""


@dataclass(frozen=True)
class Scope:
    """What the current unit of work may see.

    `unit_code`: the caller's unit; its subtree is visible.
    `all_tenants`: job code only (see `job_scope`).
    `auth_user_id` / `auth_username` / `auth_token_hash`: the narrow keys authentication may look up
    before the caller's unit is known; they open exactly the matching user or token row in the application
    lock (SQLite). PostgreSQL does not take them from the application (see tenant_app.auth.services).
    `partner_unit` / `partner_user_id`: a partner reporter's requests (see `Scope.partner`).
    """

    unit_code: str | None = None
    all_tenants: bool = False
    auth_user_id: int | None = None
    auth_username: str | None = None
    auth_token_hash: str | None = None
    partner_unit: str | None = None
    partner_user_id: int | None = None

    def __post_init__(self):
        if self.unit_code is not None and not is_valid_code(self.unit_code):
            raise ValueError(f"invalid scope code {self.unit_code!r}")
        if (self.partner_unit is None) != (self.partner_user_id is None):
            raise ValueError("a partner scope needs both its unit and its user")
        if self.partner_unit is not None and (not is_valid_code(self.partner_unit) or self.unit_code is not None
                                              or self.all_tenants):
            raise ValueError(f"invalid partner scope {self.partner_unit!r}")

    @classmethod
    def unit(cls, code: str) -> Scope:
        return cls(unit_code=code)

    @classmethod
    def partner(cls, unit_code: str, user_id: int) -> Scope:
        """A partner reporter's scope. It has no unit: to every model and policy that knows only units it is the
        empty scope (no rows). The few that take part in filing a report and following one's own reports open,
        within the partner's unit subtree, exactly those rows (`__scope_partner_criteria__` and
        `__scope_partner_match__` here, the `*_partner` policies in the database)."""
        return cls(partner_unit=unit_code, partner_user_id=user_id)

    @property
    def is_partner(self) -> bool:
        return self.partner_user_id is not None

    def partner_covers(self, code: str | None) -> bool:
        return self.partner_unit is not None and code is not None and code.startswith(self.partner_unit)

    @property
    def db_value(self) -> str:
        if self.all_tenants:
            return ALL_TENANTS
        return self.unit_code or ""

    def covers(self, code: str | None) -> bool:
        if self.all_tenants:
            return True
        if code is None or self.unit_code is None:
            return False
        return code.startswith(self.unit_code)

    def bounds(self) -> tuple[str, str]:
        if self.all_tenants:
            return "", "~"
        if self.unit_code is None:
            return "~", ""  # empty range
        return subtree_bounds(self.unit_code)


NO_SCOPE = Scope()
_current: ContextVar[Scope] = ContextVar("shouhu_scope", default=NO_SCOPE)


def current_scope() -> Scope:
    return _current.get()


@contextlib.contextmanager
def scoped(scope: Scope) -> Iterator[Scope]:
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def set_scope(scope: Scope):
    """Set the scope for the rest of the current context (a request); returns a reset token."""
    return _current.set(scope)


def reset_scope(token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def job_scope(unit_code: str | None = None, *, all_tenants: bool = False) -> Iterator[Scope]:
    """The scope a background job runs with: one unit's subtree, or every tenant.

    The all-tenants flag is refused inside a web request: only jobs and operator commands may use it.
    """
    if all_tenants:
        try:
            from flask import has_request_context
        except ImportError:  # pragma: no cover - flask is always installed with the app
            has_request_context = lambda: False  # noqa: E731
        if has_request_context():
            raise ScopeViolation("the all-tenants scope is not available to requests")
        scope = Scope(all_tenants=True)
    else:
        if unit_code is None:
            raise ValueError("a job scope needs a unit code or all_tenants=True")
        scope = Scope.unit(unit_code)
    with scoped(scope):
        yield scope


def tenant_models() -> list[type]:
    return [m.class_ for m in Base.registry.mappers if getattr(m.class_, "__scope_column__", None)]


@dataclass(frozen=True)
class ScopeShape:
    """Which parts a scope has, without their values: the loader criteria are built once per shape, with bound
    parameters (`scope_param`) that each statement receives from its scope (`Scope.criteria_params`). Built per
    scope instead, a request in one of tens of thousands of villages paid milliseconds to build them and the
    statement cache held one entry per unit."""

    all_tenants: bool = False
    unit: bool = False
    ancestors: bool = False
    auth_user_id: bool = False
    auth_username: bool = False
    auth_token_hash: bool = False
    partner: bool = False
    province: bool = False  # the unit's province named too (`route_by_province`)


# Whether the scope criteria name the unit's province beside its code range: on a Citus coordinator, where the
# province is the distribution column, a query that names it runs on one shard; a single server gains nothing
# from it (it would only cost index-only scans their heap look-ups). Set once a Citus connection is seen.
_ROUTING = {"province": False}


def route_by_province(enabled: bool = True) -> None:
    if _ROUTING["province"] != enabled:
        _ROUTING["province"] = enabled
        criteria_params.cache_clear()  # its values follow the setting


def scope_param(name: str):
    """The bound parameter of a scope value in loader criteria: lo, hi, ancestors, auth_user_id, auth_username,
    auth_token_hash, partner_lo, partner_hi, partner_ancestors, partner_user."""
    return bindparam(f"shouhu_scope_{name}", expanding=name in ("ancestors", "partner_ancestors"))


def partner_subtree(column):
    """Loader criteria: `column` within the partner's unit subtree (for `__scope_partner_criteria__`)."""
    return and_(column >= scope_param("partner_lo"), column < scope_param("partner_hi"))


def shape_of(scope: Scope) -> ScopeShape:
    if scope.all_tenants:
        return ScopeShape(all_tenants=True)
    return ScopeShape(unit=scope.unit_code is not None,
                      province=(scope.unit_code is not None or scope.is_partner) and _ROUTING["province"],
                      ancestors=scope.unit_code is not None and bool(ancestors_of(scope.unit_code)),
                      auth_user_id=scope.auth_user_id is not None, auth_username=bool(scope.auth_username),
                      auth_token_hash=bool(scope.auth_token_hash), partner=scope.is_partner)


@lru_cache(maxsize=65536)
def criteria_params(scope: Scope) -> dict:
    """The values of the scope's bound parameters (see ScopeShape)."""
    params: dict = {}
    if scope.all_tenants:
        return params
    if scope.unit_code is not None:
        params["shouhu_scope_lo"], params["shouhu_scope_hi"] = subtree_bounds(scope.unit_code)
        if _ROUTING["province"]:
            params["shouhu_scope_province"] = scope.unit_code[:2]
        ancestors = ancestors_of(scope.unit_code)
        if ancestors:
            params["shouhu_scope_ancestors"] = tuple(ancestors)
    if scope.auth_user_id is not None:
        params["shouhu_scope_auth_user_id"] = scope.auth_user_id
    if scope.auth_username:
        params["shouhu_scope_auth_username"] = scope.auth_username
    if scope.auth_token_hash:
        params["shouhu_scope_auth_token_hash"] = scope.auth_token_hash
    if scope.is_partner:
        if _ROUTING["province"]:
            params["shouhu_scope_province"] = scope.partner_unit[:2]
        params["shouhu_scope_partner_lo"], params["shouhu_scope_partner_hi"] = subtree_bounds(scope.partner_unit)
        # Never empty (an expanding parameter): the partner's own unit stands in for a province's no ancestors.
        params["shouhu_scope_partner_ancestors"] = tuple(ancestors_of(scope.partner_unit)) or (scope.partner_unit,)
        params["shouhu_scope_partner_user"] = scope.partner_user_id
    return params


def _criteria_for(model: type, shape: ScopeShape):
    column = getattr(model, model.__scope_column__)
    if shape.all_tenants:
        return true()
    clauses = []
    # A unit, its ancestors and a partner's rows share the unit's province (the first two digits of every code).
    province = getattr(model, "province_code", None)
    same_province = (province == scope_param("province"),) if shape.province and province is not None else ()
    if shape.unit:
        if same_province and model.__scope_column__ == "province_code":
            # The code range compared as text: Citus takes a comparison of the distribution column itself for
            # shard pruning and casts the other side to the column's type, too short for a unit's code.
            column = cast(column, Text)
        clauses.append(and_(column >= scope_param("lo"), column < scope_param("hi"), *same_province))
        if shape.ancestors and getattr(model, "__scope_ancestors_visible__", False):
            clauses.append(and_(column.in_(scope_param("ancestors")), *same_province))
    auth_clause = getattr(model, "__scope_auth_criteria__", None)
    if auth_clause is not None:
        extra = auth_clause(shape)
        if extra is not None:
            clauses.append(extra)
    partner_clause = getattr(model, "__scope_partner_criteria__", None)
    if shape.partner and partner_clause is not None:
        clauses.append(and_(partner_clause(), *same_province))
    if not clauses:
        return false()
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _add_scope_criteria(state: ORMExecuteState) -> None:
    scope = current_scope()
    _sync_db_scope(state.session, scope)
    # Relationship loads get the scope current at load time, not the one their parent was loaded under.
    if not state.is_select or state.is_column_load:
        return
    option = _scope_options(shape_of(scope), _mapped_classes)
    statement = state.statement
    if statement.get_execution_options().get(REUSABLE):
        # The same statement object on every execution: so is its scoped copy, whose cache key SQLAlchemy then
        # computes once instead of walking the whole statement on each execution.
        key = (id(statement), option)
        known = _scoped.get(key)
        if known is None or known[0] is not statement:
            known = _scoped[key] = (statement, statement.options(option))
        state.statement = known[1]
    else:
        state.statement = statement.options(option)
    params = criteria_params(scope)
    if params:
        state.parameters = {**(state.parameters or {}), **params}


# Execution option of a statement built once and executed many times (see `reusable`).
REUSABLE = "shouhu_reusable"
# (id of a reusable statement, scope option) → (the statement, its scoped copy). Bounded: reusable statements are
# built once per module (or per combination of filters) and the options once per scope shape.
_scoped: dict[tuple[int, object], tuple] = {}


def reusable(statement):
    """Mark a statement that is built once and kept (a module's constant, or cached per combination of filters),
    with its values as bound parameters: its scoped copy is kept too, so that its cache key is computed once.
    Never for a statement built per call: each would be kept for good."""
    return statement.execution_options(**{REUSABLE: True})


class _ScopeCriteria(LoaderCriteriaOption):
    """A tenant model's loader criteria with a fixed cache key. The criteria are a function of (model, shape)
    alone and carry no values (those are bound parameters, see ScopeShape), so the key needs no walk through
    them: walking some twenty of them was the largest single cost of building each statement's cache key."""

    __slots__ = ("_fixed_key",)

    def __init__(self, model: type, shape: ScopeShape):
        super().__init__(model, _criteria_for(model, shape), include_aliases=True, propagate_to_loaders=False)
        self._fixed_key = ("shouhu_scope_criteria", model, shape)

    def _gen_cache_key(self, anon_map, bindparams):
        return self._fixed_key


# Classes mapped so far: part of the criteria cache's key, so that a model mapped later is never missing from a
# cached set (counted by an event: `registry.mappers` builds a set of every mapper on each call).
_mapped_classes = 0


@event.listens_for(Base, "instrument_class", propagate=True)
def _count_mapped_class(mapper, class_) -> None:
    global _mapped_classes
    _mapped_classes += 1


class _ScopeCriteriaSet(CriteriaOption):
    """The loader criteria of every tenant model for a scope shape, as one statement option.

    It hands each model's criteria (`_ScopeCriteria`) to the compiler exactly as the separate options would,
    in the same order, so the SQL is the same; but a statement carries one option instead of one per tenant
    model. Each of those was coerced, keyed and carried through the ORM's execution on every statement, even
    on a cache hit: with some forty tenant models that was a few hundred Python calls per ORM statement."""

    __slots__ = ("criteria", "_fixed_key")

    propagate_to_loaders = False

    def __init__(self, shape: ScopeShape, mapped_classes: int):
        self.criteria = tuple(_ScopeCriteria(model, shape) for model in tenant_models())
        self._fixed_key = ("shouhu_scope_criteria_set", shape, mapped_classes)

    def _gen_cache_key(self, anon_map, bindparams):
        return self._fixed_key

    def process_compile_state(self, compile_state) -> None:
        for criteria in self.criteria:
            criteria.process_compile_state(compile_state)

    def process_compile_state_replaced_entities(self, compile_state, mapper_entities) -> None:
        for criteria in self.criteria:
            criteria.process_compile_state_replaced_entities(compile_state, mapper_entities)

    def get_global_criteria(self, attributes) -> None:
        for criteria in self.criteria:
            criteria.get_global_criteria(attributes)


@lru_cache(maxsize=64)
def _scope_options(shape: ScopeShape, mapped_classes: int) -> _ScopeCriteriaSet:
    """The loader criteria of every tenant model for a scope shape (one option)."""
    return _ScopeCriteriaSet(shape, mapped_classes)


def _check_writes(session: Session, flush_context, instances) -> None:
    scope = current_scope()
    _sync_db_scope(session, scope)
    if scope.all_tenants:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        column = getattr(type(obj), "__scope_column__", None)
        if column is None:
            continue
        auth_match = getattr(type(obj), "__scope_auth_match__", None)
        if auth_match is not None and auth_match(obj, scope):
            continue  # the one row authentication is working on
        if scope.is_partner:
            partner_match = getattr(type(obj), "__scope_partner_match__", None)
            if partner_match is None or obj in session.deleted or not scope.partner_covers(getattr(obj, column)) \
                    or not partner_match(obj, scope, obj in session.new):
                raise ScopeViolation(f"{type(obj).__name__} outside the partner's scope")
            continue
        if not scope.covers(getattr(obj, column)):
            raise ScopeViolation(f"{type(obj).__name__} outside the current scope")


# --- the database side: hand the scope to PostgreSQL once per transaction ---------------------------

# Where a pooled connection keeps (application role, jobs role): set by tenant_app.db on connect.
DB_ROLES_INFO = "shouhu_db_roles"


# On the DBAPI connection's info: this transaction set the scope GUCs (until its commit or rollback).
SCOPE_SET_INFO = "shouhu_scope_set"


def _scope_settings(scope: Scope, roles: tuple[str, str] | None) -> dict[str, str]:
    # The authentication keys stay in the application: the database does not trust them (a request finds its
    # caller through SECURITY DEFINER functions, tenant_app.auth.services).
    # The partner settings always go with the scope, so that a later scope in the same transaction clears them.
    settings = {"app.scope": scope.db_value, "app.partner_unit": scope.partner_unit or "",
                "app.partner_user": str(scope.partner_user_id) if scope.is_partner else ""}
    if roles:
        # Transaction-local, like the scope: the connection returns to the application role afterwards.
        settings["role"] = roles[1] if scope.all_tenants else roles[0]
    return settings


def apply_db_scope(connection, scope: Scope) -> None:
    """Set the scope GUCs, and the role that goes with the scope, for the current transaction (PostgreSQL only).

    The all-tenants scope switches to the jobs role: a connection whose login may not (a web-only login) fails
    here instead of silently seeing nothing."""
    if connection.dialect.name != "postgresql":
        return
    if not scope.all_tenants and not scope.db_value and not scope.is_partner \
            and not connection.info.get(SCOPE_SET_INFO):
        # Nothing was set in this transaction: the settings are transaction-local, so the empty scope and the
        # login's own role are in force already (a round trip saved at the start of every request).
        return
    settings = _scope_settings(scope, connection.info.get(DB_ROLES_INFO))
    if connection.info.get(citus.CITUS_INFO):
        # set_config() stays on the coordinator; SET LOCAL reaches the workers (hierarchy.citus). Several
        # statements in one call need the simple query protocol: the DBAPI cursor, no parameters.
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(citus.scope_statement(settings))
        finally:
            cursor.close()
    else:
        sql = "SELECT " + ", ".join(f"set_config('{key}', %s, true)" for key in settings)
        connection.exec_driver_sql(sql, tuple(settings.values()))
    connection.info[SCOPE_SET_INFO] = True


def forget_db_scope(connection) -> None:
    """The transaction ended (commit or rollback): its settings are gone with it."""
    connection.info.pop(SCOPE_SET_INFO, None)


def _after_begin(session: Session, transaction, connection) -> None:
    scope = current_scope()
    apply_db_scope(connection, scope)
    session.info["db_scope"] = scope


def note_db_scope(session: Session, scope: Scope) -> None:
    """A statement of the caller's own set the database scope of `scope` in the session's transaction."""
    session.connection().info[SCOPE_SET_INFO] = True
    session.info["db_scope"] = scope


def _sync_db_scope(session: Session, scope: Scope) -> None:
    # The scope may change inside one session (authentication first, then the caller's unit):
    # re-apply it so the database lock always matches the application lock.
    if session.in_transaction() and session.info.get("db_scope") != scope:
        apply_db_scope(session.connection(), scope)
        session.info["db_scope"] = scope


def install_scoping(session_class: type[Session] = Session) -> None:
    """Register the hooks once, on the Session class used by the application and jobs."""
    install_once(session_class, "_shouhu_scoping", do_orm_execute=_add_scope_criteria, before_flush=_check_writes,
                 after_begin=_after_begin)
