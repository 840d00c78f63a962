"""Login throttling through Flask-Limiter: delays that grow, never a lockout.

Only failed logins count, in the limiter's storage (Redis with SHOUHU_REDIS_URL, memory in the quick start):

- Per account, a stack of limits (by default 5 a minute, 10 in 10 minutes, 20 an hour, 50 a day): each one
  reached is a longer wait before the next try. Once the wait has passed the right password works again;
  nobody locks the owner out for a fixed time by guessing.
- Per client address, limits sized for a township office of some 30 people behind one address (by default
  30 a minute, 100 in 10 minutes): a sprayer going through many accounts from one address is slowed too.
- A known device, a browser where the account logged in before (a signed cookie set at each successful login),
  is exempt from both and has a limit of its own per account: someone else's guesses never slow the owner at
  their own computer, and a colleague's typos in a shared office never slow the others.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from tenant_app.errors import RateLimited
from tenant_app.extensions import limiter
from tenant_app.i18n import _l

log = logging.getLogger(__name__)

DEVICE_COOKIE = "shouhu_device"
DEVICE_MAX_ACCOUNTS = 20  # a shared office computer remembers this many accounts
TOO_MANY = _l("登录失败次数过多，请稍后再试")

_fallback: MovingWindowRateLimiter | None = None
_storage_down = False


@dataclass(frozen=True)
class Device:
    """A browser known from earlier successful logins: a random id and the accounts that logged in there."""

    id: str
    user_ids: tuple[int, ...] = ()

    def knows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.user_ids


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="shouhu-known-device")


def _device_max_age() -> int:
    return int(current_app.config["SHOUHU_KNOWN_DEVICE_DAYS"]) * 86400


def read_device(cookies) -> Device | None:
    """The known device of a request's cookies, or None (no cookie, a forged or expired one)."""
    raw = cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=_device_max_age())
        return Device(str(data["d"]), tuple(int(user_id) for user_id in data["u"])[:DEVICE_MAX_ACCOUNTS])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def remember_device(response, device: Device | None, user_id: int) -> None:
    """After a successful login: (re)issue the known-device cookie with this account first."""
    device = device or Device(secrets.token_urlsafe(16))
    user_ids = (user_id, *(known for known in device.user_ids if known != user_id))[:DEVICE_MAX_ACCOUNTS]
    value = _serializer().dumps({"d": device.id, "u": list(user_ids)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=_device_max_age(), httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


@lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple:
    return tuple(parse_many(limits))


def _counters(username: str, client_ip: str | None, user_id: int | None,
              device: Device | None) -> list[tuple[tuple, tuple[str, ...]]]:
    """(limits, identifiers) that apply to this attempt."""
    config = current_app.config
    if device is not None and device.knows(user_id):
        return [(_parsed(config["SHOUHU_LOGIN_DEVICE_LIMITS"]), ("login-device", device.id, str(user_id)))]
    counters = [(_parsed(config["SHOUHU_LOGIN_ACCOUNT_LIMITS"]), ("login-account", username.lower()))]
    if client_ip:
        counters.append((_parsed(config["SHOUHU_LOGIN_ADDRESS_LIMITS"]), ("login-address", client_ip)))
    return counters


def _with_strategy(action):
    """Run `action(strategy)` on Flask-Limiter's storage; on a storage outage, on memory (one warning per
    outage), so that logins go on and are still throttled per process."""
    global _fallback, _storage_down
    try:
        result = action(limiter.limiter)
    except Exception as exc:  # noqa: BLE001 - any storage failure: fall back rather than refuse every login
        if not _storage_down:
            log.warning("login throttling falls back to memory: the limiter's storage failed (%s: %s)",
                        type(exc).__name__, exc)
            _storage_down = True
        if _fallback is None:
            _fallback = MovingWindowRateLimiter(MemoryStorage())
        return action(_fallback)
    if _storage_down:
        log.warning("login throttling is back on the limiter's storage")
        _storage_down = False
    return result


def check(username: str, client_ip: str | None, user_id: int | None = None, device: Device | None = None) -> None:
    """Raise RateLimited (with Retry-After) while any limit of this attempt is reached."""
    counters = _counters(username, client_ip, user_id, device)

    def seconds_to_wait(strategy) -> float | None:
        wait = None
        for items, identifiers in counters:
            for item in items:
                if not strategy.test(item, *identifiers):
                    reset_at = strategy.get_window_stats(item, *identifiers).reset_time
                    wait = max(wait or 0.0, reset_at - time.time())
        return wait

    wait = _with_strategy(seconds_to_wait)
    if wait is not None:
        raise RateLimited(TOO_MANY, headers={"Retry-After": str(max(1, math.ceil(wait)))})


def record_failure(username: str, client_ip: str | None, user_id: int | None = None,
                   device: Device | None = None) -> None:
    counters = _counters(username, client_ip, user_id, device)

    def hit(strategy) -> None:
        for items, identifiers in counters:
            for item in items:
                strategy.hit(item, *identifiers)

    _with_strategy(hit)
