"""Kassa's settings, read from the environment with django-environ (see README, "Configuration")."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
# Development gets an obvious throwaway key; anything else must set SECRET_KEY.
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="dev-only-insecure-key-set-SECRET_KEY-in-production" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Apps: SHARED_APPS live in `public`, TENANT_APPS in every store's schema -------------------

SHARED_APPS = [
    "stores",
    # Before django_tenants: its migrate_schemas command is Kassa's own, a faster superset.
    "ops",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
]
TENANT_APPS = [
    "core",  # the event outbox
    "catalog",
    "sales",
    "customers",
    "analytics",
    "jobs",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "stores.Store"
TENANT_DOMAIN_MODEL = "stores.Domain"
PUBLIC_SCHEMA_NAME = "public"
# One `SET search_path` per request: the tenant middleware issues it outside any transaction, and
# django-tenants forgets the cached path on every rollback and savepoint rollback (see
# docs/architecture.md, "search_path", and tests/stores/test_search_path.py).
TENANT_LIMIT_SET_CALLS = True
AUTH_USER_MODEL = "stores.User"

MIDDLEWARE = [
    "core.logging.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "stores.middleware.TenantHeaderMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it answers a locked-out admin login (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    from config.embedded_postgres import embedded_database_url

    DATABASES = {"default": env.db_url_config(embedded_database_url(BASE_DIR / ".data" / "pg"))}
DATABASES["default"]["ENGINE"] = "core.database"
# Persistent connections; the tenant middleware returns each to `public` after every request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A view that fails halfway leaves nothing written; services still own their own transactions.
# The tenant middleware's SET search_path runs before this transaction opens.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", 5))
# How the connections reach PostgreSQL: `session` (directly, or PgBouncer in session mode) or
# `transaction` (PgBouncer in transaction mode). The backend (core.database) keeps a store's
# search path inside every transaction in `transaction` mode, and refuses to start as
# `session` behind a pooler that shares server connections (docs/scaling.md).
DATABASES["default"]["POOL_MODE"] = env.str("DATABASE_POOL_MODE", default="session")
# In session mode, parameters are bound by the server and a statement a connection has run
# `DATABASE_PREPARE_THRESHOLD` times is prepared on it: PostgreSQL parses and plans it once for
# the connection, not at every run (PostgreSQL's share of a checkout about halves). A prepared
# statement is planned for the search path it was planned under and planned again under any
# other (PostgreSQL checks at each run), so a store's statement only ever reads its own tables.
# Under transaction pooling both stay off: core.database refuses them.
if DATABASES["default"]["POOL_MODE"] == "session" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    )
# Server-side cursors cannot outlive a transaction under transaction pooling.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DB_DISABLE_SERVER_SIDE_CURSORS",
    default=DATABASES["default"]["POOL_MODE"] == "transaction",
)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# BigAutoField from the first migration keeps the Citus scale-out path open
# (docs/architecture.md, "Scale-out").
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------

# The default cache is tenant-aware: every key carries the active schema.
# The `shared` cache holds what belongs to no one store: the tenant-key -> store registry and
# the throttles' counters (a user's rate is theirs across all their stores).
CACHE_URL = env.str("CACHE_URL", default="locmemcache://")
CACHES = {
    "default": {
        **env.cache_url_config(CACHE_URL),
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "KEY_PREFIX": "kassa",
    },
    "shared": {
        **env.cache_url_config(CACHE_URL),
        "KEY_PREFIX": "kassa-shared",
        "TIMEOUT": env.int("STORE_CACHE_SECONDS", default=300),
    },
}
if CACHE_URL.startswith("locmemcache"):
    CACHES["default"]["LOCATION"] = "kassa"
    CACHES["shared"]["LOCATION"] = "kassa-shared"

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)

# The admin's sign-in is guarded by django-axes: after AXES_FAILURE_LIMIT failures from one
# address for one account, that pair is locked out for AXES_COOLOFF_MINUTES. The API's sign-in
# has its own throttle (THROTTLE_LOGIN).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
# The admin sign-in form names the email `username` (Kassa's USERNAME_FIELD is `email`).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "core.exceptions.locked_out"

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
}


# Proxies in front that write X-Forwarded-For; 0: the socket's address is the client's.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)


def _rate(name: str, default: str) -> str | None:
    """A DRF rate string from the environment; `off` disables that throttle."""
    value = env.str(name, default=default).strip()
    return None if value.lower() in {"off", "none", ""} else value


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "core.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.schema.KassaAutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _rate("THROTTLE_ANON", "120/min"),
        "user": _rate("THROTTLE_USER", "3000/min"),
        "signup": _rate("THROTTLE_SIGNUP", "10/hour"),
        "login": _rate("THROTTLE_LOGIN", "20/min"),
    },
    # Read by core.throttling.client_address, which the throttles use (see NUM_PROXIES below).
    "NUM_PROXIES": NUM_PROXIES,
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kassa API",
    "DESCRIPTION": (
        "Multi-tenant point-of-sale backend. Store-scoped endpoints need a Bearer token and the "
        "store's `X-Tenant-Key` header; the caller must be a member of that store, in a role "
        "the endpoint allows (each operation lists its roles)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "schemas": {
            "Error": {
                "type": "object",
                "description": (
                    'A request-level error, or DRF\'s field errors (`{"field": ["message"]}`).'
                ),
                "properties": {
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                },
                "additionalProperties": True,
            },
        },
        "securitySchemes": {
            "tenantKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Tenant-Key",
                "description": "The `tenant_key` of the store this request acts in.",
            },
        },
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.describe_pages",
    ],
    "ENUM_NAME_OVERRIDES": {
        "InvitationStatusEnum": "stores.models.Invitation.Status",
        "StockMovementReasonEnum": "catalog.models.StockMovement.Reason",
        "ManualStockReasonEnum": "catalog.models.StockMovement.MANUAL_REASONS",
        "ShiftStatusEnum": "sales.models.Shift.Status",
        "SyncStatusEnum": "sales.serializers.SYNC_STATUSES",
        "ExportKindEnum": "analytics.exports.KINDS",
        "CashMovementKindEnum": "sales.models.CashMovement.Kind",
    },
}

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process right away (local runs); with one, never.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes a worker's connections every this many tasks (by default after
# every one); between, they are kept or closed as a web process's are (core.celery).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Long rebuilds must not be redelivered to a second worker while the first still runs them.
# Longer than any job and than the nightly window (tasks waiting for their countdown are
# unacknowledged meanwhile), so Redis never hands one to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=43200)
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that queues a task (a sale's analytics refresh) must not hang on a dead broker.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_TIMEZONE = "UTC"
# Workers log through LOGGING above, so their records carry the task's store too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # Fans out to every active store, spread over ANALYTICS_NIGHTLY_WINDOW_SECONDS.
    "analytics-nightly-rebuild": {
        "task": "analytics.nightly_rebuild",
        "schedule": crontab(hour=env.int("ANALYTICS_NIGHTLY_HOUR_UTC", default=2), minute=0),
    },
    "jobs-sweep-stale": {"task": "jobs.sweep_stale", "schedule": 300.0},
    "jobs-purge-files": {"task": "jobs.purge_files", "schedule": crontab(hour=4, minute=40)},
    # Delivers what a lost nudge (a broker down at commit) left behind.
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 300.0},
    "webhooks-purge-events": {
        "task": "webhooks.purge_events",
        "schedule": crontab(hour=4, minute=10),
    },
    "sales-purge-idempotency-keys": {
        "task": "sales.purge_idempotency_keys",
        "schedule": crontab(hour=3, minute=30),
    },
}
# Files that jobs write (exports), and how long they are kept for download.
JOB_FILES_ROOT = Path(env.str("JOB_FILES_ROOT", default=str(BASE_DIR / ".data" / "job-files")))
JOB_FILES_KEEP_HOURS = env.int("JOB_FILES_KEEP_HOURS", default=24)
# Catalog imports: the largest file and the most rows taken, and the legacy encodings a CSV that
# is not UTF-8 is told apart among (Windows' Western and Cyrillic code pages by default).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_ENCODINGS = env.list("IMPORT_ENCODINGS", default=["cp1252", "cp1251"])
# How long an invitation to join a store's staff may be accepted.
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
# What is derived from a store's days, told when days change (core.derived.days_changed).
DAYS_CHANGED_SUBSCRIBERS = ["analytics.tasks.analytics_days_changed"]
# Told, once a transaction that wrote events commits, that a store has new ones (core.events).
EVENT_SUBSCRIBERS = ["jobs.webhooks.tasks.webhooks_nudge"]
# Empty store schemas kept ready, so a signup renames one instead of creating tables.
STORE_SPARE_SCHEMAS = env.int("STORE_SPARE_SCHEMAS", default=3)
ANALYTICS_NIGHTLY_WINDOW_SECONDS = env.int("ANALYTICS_NIGHTLY_WINDOW_SECONDS", default=3 * 3600)
# work_mem for a rebuild's transaction: its GROUP BYs stay in memory instead of spilling.
ANALYTICS_WORK_MEM = env.str("ANALYTICS_WORK_MEM", default="64MB")

# Webhooks. Production settings post only to public addresses over https; development (DEBUG)
# also to loopback and private ones, over http too.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=not DEBUG)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=5.0)
WEBHOOK_RETRY_FOR_SECONDS = env.int("WEBHOOK_RETRY_FOR_SECONDS", default=24 * 3600)
# The key the signing secrets are encrypted under (derived); SECRET_KEY unless set apart.
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default=SECRET_KEY)
# How long a store's events (and their delivery logs) are kept: the feed reaches back this far.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=30)

# Receipts as PDF: TrueType fonts, a regular and a bold face, then fallbacks for other scripts
# (CJK). The defaults are Debian's fonts-dejavu-core and fonts-droid-fallback.
RECEIPT_FONTS = env.list(
    "RECEIPT_FONTS",
    default=[
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    ],
)

# --- Mail (receipts by email) ---------------------------------------------------------------

# EMAIL_URL as django-environ reads it: smtp+tls://user:password@smtp.example.com:587, or
# consolemail:// to print mail (the default in development).
vars().update(
    env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kassa <receipts@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Security (TLS usually ends at the proxy in front) ---------------------------------------

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# TLS ends at the proxy in front, which redirects to HTTPS and sends HSTS itself; set
# SECURE_SSL_REDIRECT / SECURE_HSTS_SECONDS to have Kassa do either, and these checks apply.
SILENCED_SYSTEM_CHECKS = [
    check
    for check, setting in (
        ("security.W008", "SECURE_SSL_REDIRECT"),
        ("security.W004", "SECURE_HSTS_SECONDS"),
    )
    if not env.str(setting, default="")
]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# --- I18n, static ---------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / ".data" / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from here after collectstatic
WHITENOISE_USE_FINDERS = True  # and straight from the apps before it

# --- Logging --------------------------------------------------------------------------------

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")  # or "json": one object per line
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[request=%(request_id)s store=%(store)s user=%(user)s] %(message)s"
        },
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # fpdf2 subsets fonts with fontTools, which narrates every table at INFO.
        "fontTools": {"level": "WARNING"},
    },
}

CSRF_FAILURE_VIEW = "core.exceptions.csrf_failure"
