"""Session event hooks registered once per Session class (the one requests and jobs use), and the hook that
forgets what a transaction noted when it ends without a commit."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session


def install_once(session_class: type[Session], marker: str, **hooks: Callable) -> None:
    """event.listen each hook (keyword: the event's name) on `session_class`, unless `marker` says it was done:
    an application created twice (tests, the CLI) must not run a hook twice per event."""
    if getattr(session_class, marker, False):
        return
    for name, hook in hooks.items():
        event.listen(session_class, name, hook)
    setattr(session_class, marker, True)


def forget_at_end(key: str) -> Callable:
    """An after_transaction_end hook dropping session.info[key] once the whole transaction has ended: after a
    rollback it is stale, and a commit's own hook has already taken it."""

    def forget(session: Session, transaction) -> None:
        if transaction.parent is None:
            session.info.pop(key, None)

    return forget
