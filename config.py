"""Configuration: values from the environment with safe defaults.

`DATABASE_URL` chooses the database in every configuration; the embedded default is a
SQLite file in `instance/`, so `make run` works on a fresh machine with nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production, see ProductionConfig


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{BASE_DIR / 'instance' / name}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", _sqlite_url("clinic.db"))
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    CLINIC_TIMEZONE = os.environ.get("CLINIC_TIMEZONE", "Europe/Berlin")
    WTF_CSRF_ENABLED = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # With a shared store (redis://, several app servers) gone away, each worker counts in its
    # own memory until the store is back: the limits still hold, per worker, and logins work.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_ENABLED = True
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto in front of the app
    # (0 = none). Rate limits are per client address, so this must be right in production.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    API_TOKEN_HOURS = int(os.environ.get("API_TOKEN_HOURS", "24"))
    # A browser's login ends after this long without a request, and this long after it began
    # however much it is used (docs/DECISIONS.md, "Logins that end").
    LOGIN_IDLE_MINUTES = int(os.environ.get("LOGIN_IDLE_MINUTES", str(8 * 60)))
    LOGIN_MAX_DAYS = int(os.environ.get("LOGIN_MAX_DAYS", "7"))
    # SQLite: how long a write waits for another's write lock before the request answers 503
    # with Retry-After (a booking holds it for milliseconds; a longer hold is a backup, a
    # migration or a stuck process, and the user is better told to try again in a minute).
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "5000"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "clinic@localhost")
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    # Text messages (README "Messages"): an HTTP gateway taking a JSON POST with a bearer
    # token. Unset URL: the clinic offers no texts and a text message stays queued.
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
    SMS_SENDER = os.environ.get("SMS_SENDER", "Clinic")
    # The clinic's country: a phone number typed without a country code is read as one of it.
    PHONE_REGION = os.environ.get("PHONE_REGION", "DE")
    # The address clients reach the app at, for links in messages sent from cron (no request).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://localhost:5000")
    # Request bodies: no form or JSON call needs more than 1 MiB; a larger body is refused with
    # 413 before it is read. The catalogue upload (the admin page's import) takes a file up
    # to CATALOGUE_MAX_BYTES (clinic/security.py raises the limit for that endpoint alone).
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    CATALOGUE_MAX_BYTES = int(os.environ.get("CATALOGUE_MAX_BYTES", str(5 * 1024 * 1024)))
    # A before/after photo's upload (a phone's camera: a few MB); stored resized, without EXIF.
    PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(12 * 1024 * 1024)))
    # Where photo bytes live: "database", or "package.module:factory" for object storage
    # (clinic/services/clinical/photo_store.py).
    PHOTO_STORE = os.environ.get("PHOTO_STORE", "database")
    TESTING = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS: dict[str, type[Config]] = {
    "development": Config,
    "testing": TestConfig,
    "production": ProductionConfig,
}
