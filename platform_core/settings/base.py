"""Settings shared by every environment. Everything deployment-specific comes from the environment.

Environment variables (all optional in dev):
  DATABASE_URL      e.g. postgres://user@host:5432/db; dev default is a SQLite file under var/
  REDIS_URL         cache, throttling and (unless CELERY_BROKER_URL is set) the Celery broker
  CELERY_BROKER_URL overrides the broker
  SECRET_KEY        required in production
  ALLOWED_HOSTS     comma-separated
  EMAIL_URL-like:   EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "platform_core",
    "platform_core.accounts",
    "platform_core.ledger",
    "platform_core.disclosures",
    "crowdfunding",
    "supplychain",
    "p2p",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "platform_core.middleware.QueryTextMiddleware",
    "platform_core.middleware.UploadSizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a log-in refused for too many failures into a 429 (platform_core.accounts.login)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "platform_core.urls"
WSGI_APPLICATION = "platform_core.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "platform_core.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'platform.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # a persistent connection killed under us (restart, failover, pg_terminate_backend) is
        # noticed before the next request or task uses it, not as a 500
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: a locked-out client is refused before its password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
PLATFORM_DEFAULT_TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@platform.invalid")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Every task finishes (or is stopped) within 5 minutes; the long ones (settlement, notification)
# commit as they go and are resumed where they stopped.
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 270
# Tasks are idempotent, so a task whose worker died is redelivered rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With Redis, a message not acknowledged within `visibility_timeout` is delivered again, so it must
# exceed the longest task (the hard limit above) and the longest countdown/ETA (none is used); a
# task whose worker was killed whole comes back after it. Work that moves money does not wait for
# that: the resume jobs below enqueue it again after RESUME_STALLED_AFTER without progress.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 360,
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
}
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The database is the outbox (platform_core/enqueue.py): work left behind by a lost message, a
# broker that was away or a killed worker is found and enqueued again by the `*_resume` jobs.
RESUME_EVERY = timedelta(seconds=int(os.environ.get("RESUME_EVERY_SECONDS", "15")))
RESUME_STALLED_AFTER = timedelta(seconds=int(os.environ.get("RESUME_STALLED_AFTER_SECONDS", "30")))
# Beat reads its schedule from the database (django-celery-beat): operators edit it in the admin
# under Periodic tasks; the entries below are written there when beat starts.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "crowdfunding-resume": {
        "task": "crowdfunding.tasks.work_resume",
        "schedule": RESUME_EVERY,
    },
    "p2p-resume": {
        "task": "p2p.tasks.work_resume",
        "schedule": RESUME_EVERY,
    },
    "idempotency-keys-purge": {
        "task": "platform_core.ledger.tasks.idempotency_keys_purge",
        "schedule": timedelta(hours=1),
    },
    "crowdfunding-close-due": {
        "task": "crowdfunding.tasks.campaigns_close_due",
        "schedule": timedelta(minutes=1),
    },
    "crowdfunding-expire-unconfirmed": {
        "task": "crowdfunding.tasks.pledges_expire_unconfirmed",
        "schedule": timedelta(minutes=15),
    },
    "p2p-listings-close": {
        "task": "p2p.tasks.listings_close_due",
        "schedule": timedelta(minutes=5),
    },
    "p2p-auto-repay": {
        "task": "p2p.tasks.repayments_collect_due",
        "schedule": crontab(minute=15),
    },
    "p2p-overdue-sweep": {
        "task": "p2p.tasks.overdue_sweep",
        "schedule": crontab(hour=0, minute=30),
    },
    "scf-maturity-reminders": {
        "task": "supplychain.tasks.maturity_reminders",
        "schedule": crontab(hour=1, minute=0),
    },
    "scf-maturities-settle": {  # 10:00 on the business day (Asia/Shanghai); the sweep asks again an hour later
        "task": "supplychain.tasks.maturities_settle",
        "schedule": crontab(hour=2, minute=0),
    },
    "scf-overdue-sweep": {
        "task": "supplychain.tasks.overdue_sweep",
        "schedule": crontab(hour=3, minute=0),
    },
    "scf-financings-expire": {
        "task": "supplychain.tasks.financings_expire",
        "schedule": timedelta(minutes=15),
    },
    "payments-reconcile": {
        "task": "platform_core.ledger.tasks.payments_reconcile",
        "schedule": timedelta(minutes=5),
    },
    "ledger-verify": {
        "task": "platform_core.ledger.tasks.ledger_verify",
        "schedule": crontab(minute="*/15"),
    },
    # Every day from the 1st to the 7th (01:30 UTC, 09:30 in Shanghai): last month's disclosures are
    # filed within the first 5 working days; a period already filed is left alone.
    "disclosures-file-last-month": {
        "task": "platform_core.disclosures.tasks.disclosures_file_last_month",
        "schedule": crontab(minute=30, hour=1, day_of_month="1-7"),
    },
}

# --- Log-in: client address, lockout, API tokens (platform_core.accounts.login) ---------------
# How many proxies of ours stand in front of the app and append to X-Forwarded-For. 0 (default):
# the header is ignored and the client is REMOTE_ADDR. DRF's throttles and django-axes both use it.
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # holds on SQLite and without Redis
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
# Counted per address (one client trying many users) and per user name (many clients, one user).
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
# a fixed cool-off: attempts while locked out are refused, not counted (they would extend it)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "platform_core.accounts.login.client_ip"
AXES_LOCKOUT_CALLABLE = "platform_core.accounts.login.lockout_response"
AXES_VERBOSE = False
# API tokens: only a hash is stored (django-rest-knox), each expires; clients send
# `Authorization: Token <token>` as before.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=int(os.environ.get("API_TOKEN_TTL_HOURS", "24"))),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "platform_core.api.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only under /api/: no browsable HTML API (its errors would leave the error shape)
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "platform_core.api.parsers.JSONParser",  # with a nesting limit
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "platform_core.api.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("THROTTLE_USER", "600/minute"),
        "auth": os.environ.get("THROTTLE_AUTH", "20/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "platform_core.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SME finance platform API",
    "DESCRIPTION": "Crowdfunding, supply-chain finance and P2P lending for SMEs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # every operation documents its 4xx in the API's error shape (platform_core.api.schema)
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "platform_core.api.schema.error_responses",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # several components have a "status" of their own choices: each its own named enum
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "supplychain.models.InvoiceStatus",
        "CertificateStatusEnum": "supplychain.models.CertificateStatus",
        "FinancingStatusEnum": "supplychain.models.FinancingStatus",
        "SnapshotKindEnum": "platform_core.disclosures.models.SnapshotKind",
        "AlertStatusEnum": "platform_core.disclosures.models.AlertStatus",
    },
}

CACHES = {
    "default": {
        # Redis, with an in-process fallback while Redis is away (platform_core/cache.py)
        "BACKEND": "platform_core.cache.FailoverRedisCache",
        "LOCATION": REDIS_URL,
    }
}

# --- The platform's rule pack -----------------------------------------------------------------
# Defaults from DOMAIN.md; an operator changes them here (or via environment), never in code.
PLATFORM = {
    "CURRENCIES": {"CNY": 2},  # currency code -> minor-unit digits
    "DEFAULT_CURRENCY": "CNY",
    "MAX_AMOUNT": Decimal("1000000000.00"),  # absurd above this, refused at the edge
    "UPLOAD_MAX_BYTES": 8 * 1024 * 1024,  # a whole multipart request: the largest upload (5 MB) and its form
    "IDEMPOTENCY_KEY_TTL_HOURS": 48,  # keys are kept at least 24 hours (DOMAIN.md section 6)
    "KYC_PROVIDER": "platform_core.accounts.kyc.SandboxKycProvider",
    "PAYMENT_GATEWAY": "platform_core.ledger.gateway.SandboxPaymentGateway",
}

# Crowdfunding rule pack (DOMAIN.md section 2; US Reg CF 17 CFR 227 and the SAC 2014 draft).
CROWDFUNDING = {
    "REWARD_MIN_DAYS": 1,
    "REWARD_MAX_DAYS": 60,
    "EQUITY_MIN_DAYS": 21,
    "EQUITY_MAX_DAYS": 180,
    "PLATFORM_FEE_RATE": Decimal("0.05"),
    "EQUITY_MAX_INVESTORS": 200,
    "EQUITY_CANCEL_CUTOFF_HOURS": 48,
    "MATERIAL_CHANGE_RECONFIRM_BUSINESS_DAYS": 5,
    "ISSUER_12_MONTH_CAP": Decimal("5000000.00"),
    "INVESTOR_LIMIT_THRESHOLD": Decimal("124000.00"),
    "INVESTOR_LIMIT_FLOOR": Decimal("2500.00"),
    "INVESTOR_LIMIT_LOW_RATE": Decimal("0.05"),
    "INVESTOR_LIMIT_HIGH_RATE": Decimal("0.10"),
    "INVESTOR_LIMIT_CAP": Decimal("124000.00"),
    "COVER_IMAGE_MAX_BYTES": 5 * 1024 * 1024,
    "COVER_IMAGE_TYPES": ["JPEG", "PNG", "WEBP"],
    "COVER_IMAGE_MAX_PIXELS": 40_000_000,  # read from the header before decoding (platform_core.uploads)
    "SETTLEMENT_BATCH_SIZE": 1000,
    "CATEGORIES": [
        ("food", "Food and drink"),
        ("tech", "Technology"),
        ("manufacturing", "Manufacturing"),
        ("agriculture", "Agriculture"),
        ("design", "Design"),
        ("services", "Services"),
        ("other", "Other"),
    ],
}

# P2P lending rule pack (DOMAIN.md section 3; China 2016 Interim Measures; LendingClub/Prosper;
# Apache Fineract's repayment and delinquency conventions).
P2P = {
    "METHODS": ["equal_installments", "equal_principal", "interest_only"],
    "TERM_MIN_MONTHS": 1,
    "TERM_MAX_MONTHS": 36,
    # annual rate band per credit grade (fractions); nothing above 24% a year
    "GRADE_RATE_BANDS": {
        "A": (Decimal("0.0500"), Decimal("0.0900")),
        "B": (Decimal("0.0800"), Decimal("0.1200")),
        "C": (Decimal("0.1100"), Decimal("0.1600")),
        "D": (Decimal("0.1500"), Decimal("0.2000")),
        "E": (Decimal("0.1900"), Decimal("0.2400")),
    },
    "ORIGINATION_FEE_RATE": Decimal("0.0200"),
    "INVESTOR_SERVICE_FEE_RATE": Decimal("0.0100"),
    "PENALTY_DAILY_RATE": Decimal("0.0005"),
    # late fee (Prosper): the greater of 5% of the installment's unpaid principal and interest and 15.00,
    # charged once when it is LATE_FEE_AFTER_DAYS past due; a rate and minimum of 0 turn it off
    "LATE_FEE_RATE": Decimal("0.05"),
    "LATE_FEE_MINIMUM": Decimal("15.00"),
    "LATE_FEE_AFTER_DAYS": 15,
    "FUNDING_WINDOW_DAYS": 14,
    "MIN_INVESTMENT": Decimal("100.00"),
    "PARTIAL_FUNDING_THRESHOLD": None,  # e.g. Decimal("0.70"): issue if 70% is funded when the window closes
    "MIN_AMOUNT": Decimal("1000.00"),
    # Art. 17 caps on one platform: outstanding principal per borrower
    "BORROWING_CAP_ORGANISATION": Decimal("1000000.00"),
    "BORROWING_CAP_PERSON": Decimal("200000.00"),
    "DEFAULT_AFTER_DAYS": 90,
    "WRITE_OFF_AFTER_DAYS": 121,
    "DELINQUENCY_BUCKETS": [(1, 30, "1-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+")],
    "SWEEP_BATCH": 5000,
}

# Supply-chain finance rule pack (DOMAIN.md section 4; China commercial factoring rules 2019 for the
# concentration limits; the 2025 rules for certificate tenors).
SUPPLYCHAIN = {
    "DAY_BASIS": 360,  # or 365, per programme
    "ADVANCE_RATE": {"payables_finance": Decimal("1.0000"), "receivables_factoring": Decimal("0.8000")},
    "FEE_RATE": Decimal("0.00200"),  # platform fee, of the advance, taken from the supplier's proceeds
    "MAX_TENOR_DAYS": 180,  # default tenor ceiling of invoices, certificates and programmes
    "MAX_TENOR_DAYS_CEILING": 365,  # never more than a year
    "GRACE_DAYS": 5,  # after maturity, before an unpaid financing is defaulted
    "CONCENTRATION_SHARE": Decimal("0.50"),  # a funder's exposure to one debtor / its risk assets
    "RELATED_PARTY_SHARE": Decimal("0.40"),  # ... to a related-party debtor
    "REQUEST_VALID_DAYS": 5,  # an unfunded financing request expires after this
    "REMINDER_DAYS": [7, 3, 1],  # maturity reminders, days before the due date
    "SWEEP_BATCH": 500,  # settlements / sweep moves per task run; the task runs again while more remain
    "DOCUMENT_MAX_BYTES": 10 * 1024 * 1024,
    "DOCUMENT_MAX_PIXELS": 40_000_000,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every successful log-in at INFO; failures and lockouts stay (WARNING)
    "loggers": {"axes": {"level": os.environ.get("AXES_LOG_LEVEL", "WARNING")}},
}
