"""A short-lived cache of the tracking reads: a campaign's progress, overdue list and answers summed, a unit's figures.

Why: county and province staff keep these open and reload them while a campaign runs; each answer is a few
GROUP BYs and up to some 80 KB of JSON, the same for every member of the unit for seconds at a time. Under
`shouhu bench load` they were a third of the requests and more than a third of the server's CPU.

Freshness. An answer is served for at most SHOUHU_TRACKING_CACHE_SECONDS (default 2; 0 turns the cache off)
after it was computed, and its `Age` header says how many seconds old it is. The figures these endpoints show
already come from the roll-up, within seconds of a village's write; the cache adds at most those seconds. A
write by a member of the unit (any request but GET, HEAD or OPTIONS that succeeds, page or API) drops the unit's
answers at once, so staff see their own changes: an answer computed before the unit's last write is never served.

Who shares an answer: members of the same unit with the same role, in the same language, for the same URL (path
and query string). Those are all the inputs of these endpoints' permission checks (the caller's unit is the
scope of both locks and decides which campaigns and units are visible; the role is kept apart as well), so a
cached answer goes only to a caller who would have been given the same answer. Partner accounts, whose scope
is their own, are never cached. A sibling unit never shares: the unit is part of the key.

Where: in Redis (SHOUHU_REDIS_URL) so that every worker process shares them, one hash per unit, a field per
answer, expiring when the unit stops reading; in a small dictionary per process without Redis (quick start).
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, request
from flask_login import current_user

from tenant_app.auth.models import PARTNER_ROLES

CONFIG_KEY = "SHOUHU_TRACKING_CACHE_SECONDS"
DEFAULT_SECONDS = 2.0
KEY_PREFIX = "shouhu:tracking:"
WRITE_FIELD = b"~written"  # the moment of the unit's last write
MAX_ANSWERS_PER_UNIT = 512  # past this, the unit's hash starts again (distinct pages and filters pile up)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STAMP = struct.Struct("!d")

# The clock of the entries (wall time, shared by the worker processes); tests replace it.
now: Callable[[], float] = time.time


def seconds() -> float:
    return float(current_app.config.get(CONFIG_KEY, DEFAULT_SECONDS) or 0)


def _unit_of_caller() -> str | None:
    """The caller's unit when answers may be shared within it, else None."""
    user = current_user._get_current_object() if current_user else None
    if user is None or not user.is_authenticated or user.role in PARTNER_ROLES:
        return None
    return user.region_code


class _Store:
    """Entries per unit: field -> stamp (8 bytes, when the computation started) + JSON body."""

    def read(self, unit: str, field: bytes) -> tuple[bytes | None, bytes | None]:
        raise NotImplementedError

    def write(self, unit: str, field: bytes, value: bytes, ttl: float) -> None:
        raise NotImplementedError

    def mark_written(self, unit: str, ttl: float) -> None:
        raise NotImplementedError


class _RedisStore(_Store):
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)

    def read(self, unit, field):
        entry, written = self.client.hmget(KEY_PREFIX + unit, [field, WRITE_FIELD])
        return entry, written

    def write(self, unit, field, value, ttl):
        key = KEY_PREFIX + unit
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, field, value)
        pipe.pexpire(key, int(ttl * 1000) + 1000)
        pipe.hlen(key)
        if pipe.execute()[2] > MAX_ANSWERS_PER_UNIT:
            self.client.delete(key)

    def mark_written(self, unit, ttl):
        key = KEY_PREFIX + unit
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, WRITE_FIELD, _STAMP.pack(now()))
        pipe.pexpire(key, int(ttl * 1000) + 1000)
        pipe.execute()


class _LocalStore(_Store):
    def __init__(self):
        self.units: dict[str, dict[bytes, bytes]] = {}
        self.lock = threading.Lock()

    def read(self, unit, field):
        with self.lock:
            entries = self.units.get(unit) or {}
            return entries.get(field), entries.get(WRITE_FIELD)

    def write(self, unit, field, value, ttl):
        with self.lock:
            entries = self.units.setdefault(unit, {})
            if len(entries) >= MAX_ANSWERS_PER_UNIT:
                entries.clear()
            entries[field] = value

    def mark_written(self, unit, ttl):
        with self.lock:
            self.units[unit] = {WRITE_FIELD: _STAMP.pack(now())}


def _store() -> _Store:
    store = current_app.extensions.get("shouhu_tracking_cache")
    if store is None:
        url = current_app.config.get("SHOUHU_REDIS_URL")
        store = _RedisStore(url) if url else _LocalStore()
        current_app.extensions["shouhu_tracking_cache"] = store
    return store


def _field() -> bytes:
    from tenant_app.i18n import current_locale

    user = current_user._get_current_object()
    return f"{user.role}|{current_locale()}|{request.full_path}".encode()


def cached(view):
    """Serve a 200 JSON answer of `view` to the caller's unit for a few seconds (see the module's notes).

    Place it below the authentication decorator, above flask-smorest's arguments and response decorators: a hit
    skips parsing, the queries and the serialisation; a miss stores the serialised body."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        ttl = seconds()
        unit = _unit_of_caller() if ttl > 0 and request.method == "GET" else None
        if unit is None:
            return view(*args, **kwargs)
        store, field, started = _store(), _field(), now()
        try:
            entry, written = store.read(unit, field)
        except Exception:  # noqa: BLE001 - an unreachable cache only costs the computation
            entry = written = None
        if entry is not None:
            (stamp,) = _STAMP.unpack_from(entry)
            fresh = started - stamp < ttl and (written is None or stamp >= _STAMP.unpack(written)[0])
            if fresh:
                response = current_app.response_class(entry[_STAMP.size:], mimetype="application/json")
                response.headers["Age"] = str(max(0, int(started - stamp)))
                return response
        response = view(*args, **kwargs)
        if response.status_code == 200 and response.mimetype == "application/json" and not response.is_streamed:
            with contextlib.suppress(Exception):  # the next read computes again
                store.write(unit, field, _STAMP.pack(started) + response.get_data(), ttl)
        return response

    return wrapper


def init_app(app: Flask) -> None:
    @app.after_request
    def _drop_after_write(response):
        if request.method in SAFE_METHODS or response.status_code >= 400 or seconds() <= 0:
            return response
        unit = _unit_of_caller()
        if unit is not None:
            try:
                _store().mark_written(unit, seconds())
            except Exception:  # noqa: BLE001 - the answers then age out within the configured seconds
                current_app.logger.warning("tracking cache: could not drop the answers of a unit after a write")
        return response
