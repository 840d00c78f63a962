"""Engine and sessions, created unbound and bound by `init_app` (no I/O at import time).

On PostgreSQL every pooled connection switches to the non-owner application role on connect, so
row-level security holds even when SHOUHU_DATABASE_URL names a superuser or the tables' owner. A transaction
with the all-tenants scope switches to the jobs role for its duration (hierarchy.scope.apply_db_scope): the
policies honour the all-tenants scope for that role only. Migrations use `owner_engine()`, which does not switch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from hierarchy import citus
from hierarchy.scope import DB_ROLES_INFO, Scope, forget_db_scope, install_scoping, route_by_province, scoped
from sync.outbox import install_outbox
from tenant_app.links.refresh import install as install_worklist_refresh


class ShouhuSession(Session):
    """The Session class that carries the tenant-scoping hooks."""


install_scoping(ShouhuSession)
install_outbox(ShouhuSession)  # here, like the scoping hooks: every process that writes imports this module
install_worklist_refresh(ShouhuSession)  # hand edits of records refresh their villages' worklists


def _make_engine(url: str, **kwargs) -> Engine:
    # A failing statement's parameters are a child's record (ID numbers, guardians): never put them in an
    # exception's text or a log line.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    # No ping before each checkout by default: it is a round trip on every request. After a database restart
    # SQLAlchemy sees the first disconnect error, drops the whole pool and the next request reconnects; set
    # SHOUHU_DB_PRE_PING=1 where connections die silently (a firewall dropping idle connections).
    kwargs.setdefault("pool_pre_ping", os.environ.get("SHOUHU_DB_PRE_PING", "") == "1")
    return create_engine(url, **kwargs)


# On the DBAPI connection's info: this transaction ran a statement other than a SELECT.
WROTE_INFO = "shouhu_wrote"


def _note_writes(connection, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[WROTE_INFO] = True


def _forget_writes(connection) -> None:
    connection.info.pop(WROTE_INFO, None)


def read_only(session) -> bool:
    """The session's transaction ran SELECTs only and holds no unflushed change (see _remove_session)."""
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active or session.new or session.dirty or session.deleted:
        return False
    return not session.connection().info.get(WROTE_INFO)


class Database:
    def __init__(self):
        self.engine: Engine | None = None
        self.url: str | None = None
        self.app_role: str | None = None
        self.jobs_role: str | None = None
        self._sessionmaker: sessionmaker | None = None
        self._bind_override = None

    def init_app(self, app) -> None:
        self.configure(app.config["SHOUHU_DATABASE_URL"], app.config.get("SHOUHU_DB_APP_ROLE"),
                       app.config.get("SHOUHU_DB_JOBS_ROLE", "shouhu_jobs"))
        app.extensions["shouhu_db"] = self

        @app.teardown_appcontext
        def _remove_session(exc):
            session = _request_session()
            if session is not None:
                if exc is not None:
                    session.rollback()
                elif self.dialect == "postgresql" and read_only(session):
                    # psycopg drops every prepared statement of the connection on ROLLBACK, and close() rolls
                    # back: reads would then be parsed and planned on every request. A transaction that wrote
                    # nothing ends with COMMIT instead: the same outcome, with the statements kept.
                    try:
                        session.commit()
                    except Exception:  # noqa: BLE001 - e.g. a failed statement the error handler answered
                        session.rollback()
                session.close()

    def configure(self, url: str, app_role: str | None = "shouhu_app", jobs_role: str | None = "shouhu_jobs") -> None:
        if self.engine is not None and self.url == url:
            return
        self.url = url
        self.app_role = app_role
        self.jobs_role = jobs_role
        self.engine = _make_engine(url)
        if self.engine.dialect.name == "postgresql":
            # The scope settings are transaction-local: once the transaction ends they are gone.
            event.listen(self.engine, "commit", forget_db_scope)
            event.listen(self.engine, "rollback", forget_db_scope)
            event.listen(self.engine, "commit", _forget_writes)
            event.listen(self.engine, "rollback", _forget_writes)
            event.listen(self.engine, "before_cursor_execute", _note_writes)
        if self.engine.dialect.name == "postgresql" and app_role:
            role = app_role
            roles = (app_role, jobs_role or app_role)

            @event.listens_for(self.engine, "connect")
            def _set_app_role(dbapi_connection, record):
                on_citus = citus.detect(dbapi_connection)
                if on_citus:
                    citus.prepare_connection(dbapi_connection)
                    route_by_province()
                cursor = dbapi_connection.cursor()
                cursor.execute(f'SET ROLE "{role}"')
                cursor.close()
                dbapi_connection.commit()
                record.info[DB_ROLES_INFO] = roles
                if on_citus:
                    record.info[citus.CITUS_INFO] = True

        self._sessionmaker = sessionmaker(bind=self.engine, class_=ShouhuSession, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def owner_engine(self) -> Engine:
        """An engine that keeps the login role of the URL (the tables' owner): for migrations only."""
        return _make_engine(self.url)

    def bind_override(self, connection) -> None:
        """Tests: make every new session join this connection's outer transaction."""
        self._bind_override = connection

    def new_session(self) -> ShouhuSession:
        if self._bind_override is not None:
            return ShouhuSession(
                bind=self._bind_override, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        return self._sessionmaker()

    @contextlib.contextmanager
    def autonomous_scope(self, scope: Scope) -> Iterator[ShouhuSession]:
        """A session on a connection of its own, committed whatever becomes of the caller's transaction: for
        records that must outlive the refusal of the request that made them (audit of refused lookups).

        On PostgreSQL it never joins the shared connection of `bind_override` (the caller's rollback would
        undo it). SQLite has one writer at a time: there it is an ordinary `session_scope`.
        """
        if self.dialect != "postgresql":
            with self.session_scope(scope) as session:
                yield session
            return
        with scoped(scope):
            session = self._sessionmaker()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @property
    def session(self) -> ShouhuSession:
        """The request's session (one per application context)."""
        from flask import g

        session = g.get("_shouhu_session")
        if session is None:
            session = self.new_session()
            g._shouhu_session = session
        return session

    @contextlib.contextmanager
    def session_scope(self, scope: Scope | None = None, *, commit: bool = True) -> Iterator[ShouhuSession]:
        """A session for jobs and commands: commits once at the end, rolls back on error."""
        ctx = scoped(scope) if scope is not None else contextlib.nullcontext()
        with ctx:
            session = self.new_session()
            try:
                yield session
                if commit:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()


def _request_session():
    from flask import g

    return g.pop("_shouhu_session", None)


db = Database()


def fixed_in(column, values):
    """`column IN (...)` for a fixed set of plain string constants of the code (statuses, kinds), written into
    the statement's text. An ordinary `in_` of a list is an expanding parameter, which SQLAlchemy renders again
    on every execution even when the list never changes."""
    from sqlalchemy import literal_column

    for value in values:
        if not isinstance(value, str) or not value.replace("_", "").isalnum():
            raise ValueError(f"not a plain constant: {value!r}")
    return column.in_([literal_column(f"'{value}'") for value in values])
