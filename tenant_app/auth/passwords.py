"""Password hashing with Argon2id at the recommended minimum, not above it.

RFC 9106 and OWASP's minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane. argon2-cffi's default (64 MiB,
3 passes, 4 lanes) costs several times more CPU per login; on a small server, 60 users logging in at once then
queue for many seconds. Hashes made with other parameters still verify and are replaced at the next login
(`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tenant_app.i18n import _l

MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM)
# Verified against when the user does not exist, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("shouhu-timing-equaliser")

MIN_LENGTH = 8
# The token endpoint and the own-password change take at most this many characters: a longer password could be
# set but never used there.
MAX_LENGTH = 256
TOO_SHORT = _l("密码至少 %(n)s 位", n=MIN_LENGTH)
TOO_LONG = _l("密码最多 %(n)s 位", n=MAX_LENGTH)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """A hash made with other parameters than today's (checked after a successful verify)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    elif len(password) > MAX_LENGTH:
        problems.append(TOO_LONG)
    if password.isdigit() or password.isalpha():
        problems.append(_l("密码须同时包含字母和数字"))
    return problems
