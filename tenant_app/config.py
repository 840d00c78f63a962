"""Configuration from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("SHOUHU_INSTANCE_DIR", Path.cwd() / "instance"))


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'shouhu.sqlite3'}"


def _secret_key() -> str:
    key = os.environ.get("SHOUHU_SECRET_KEY")
    if key:
        return key
    # Without a configured key, keep one per instance so sessions survive restarts of the quick start.
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_environment() -> dict:
    return {
        "SHOUHU_DATABASE_URL": os.environ.get("SHOUHU_DATABASE_URL") or default_database_url(),
        "SHOUHU_REDIS_URL": os.environ.get("SHOUHU_REDIS_URL") or None,
        "SECRET_KEY": _secret_key(),
        # The non-owner role requests run as on PostgreSQL (created by the migrations).
        "SHOUHU_DB_APP_ROLE": os.environ.get("SHOUHU_DB_APP_ROLE", "shouhu_app"),
        # The role of all-tenants work (jobs, CLI, loaders, roll-ups); the only one the all-tenants scope opens.
        "SHOUHU_DB_JOBS_ROLE": os.environ.get("SHOUHU_DB_JOBS_ROLE", "shouhu_jobs"),
        # Seconds a tracking read (progress, overdue list, figures) is served again to its unit (tenant_app.read_cache).
        "SHOUHU_TRACKING_CACHE_SECONDS": float(os.environ.get("SHOUHU_TRACKING_CACHE_SECONDS", "2")),
        "SHOUHU_TOKEN_TTL_HOURS": int(os.environ.get("SHOUHU_TOKEN_TTL_HOURS", "12")),
        # Failed logins (Flask-Limiter notation, ";" between limits): each limit of the stack is a longer delay.
        "SHOUHU_LOGIN_ACCOUNT_LIMITS": os.environ.get("SHOUHU_LOGIN_ACCOUNT_LIMITS",
                                                      "5/minute;10/10 minutes;20/hour;50/day"),
        # Per client address: sized for a township office of some 30 people behind one address.
        "SHOUHU_LOGIN_ADDRESS_LIMITS": os.environ.get("SHOUHU_LOGIN_ADDRESS_LIMITS",
                                                      "30/minute;100/10 minutes;300/hour;1000/day"),
        # A browser the account logged in from before: exempt from the two above, limited on its own.
        "SHOUHU_LOGIN_DEVICE_LIMITS": os.environ.get("SHOUHU_LOGIN_DEVICE_LIMITS", "10/minute;30/hour"),
        "SHOUHU_KNOWN_DEVICE_DAYS": int(os.environ.get("SHOUHU_KNOWN_DEVICE_DAYS", "180")),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "shouhu",
        # A login must not wait long on an unreachable Redis (the limiter then falls back to memory).
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        "RATELIMIT_HEADERS_ENABLED": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SHOUHU_SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_SECURE": os.environ.get("SHOUHU_SECURE_COOKIES", "0") == "1",
        "API_TITLE": "Shouhu API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    }
