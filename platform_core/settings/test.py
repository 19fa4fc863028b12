"""Tests run against real PostgreSQL and Redis (defaults: the local servers; override by env)."""

import os

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env_bool

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/platform")
import dj_database_url  # noqa: E402

DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"],
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
}
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
CACHES = {"default": {"BACKEND": "platform_core.cache.FailoverRedisCache", "LOCATION": REDIS_URL}}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECRET_KEY = "test-only-key"
DEBUG = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "10000/minute", "auth": "10000/minute"},
}

# WhiteNoise serves from the finders here; an empty STATIC_ROOT keeps it quiet.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

MEDIA_ROOT = Path(tempfile.gettempdir()) / "platform-test-media"  # uploads in tests never land in the work tree
