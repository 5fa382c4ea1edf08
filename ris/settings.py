"""Settings for the RIS, read from the environment (12-factor).

Every setting a site changes comes from an environment variable; the defaults
give a working development setup on an embedded SQLite database under var/.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("RIS_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

# The development key is public: it may sign nothing that matters, so the
# service refuses to start with it unless DEBUG is on.
DEVELOPMENT_SECRET_KEY = "django-insecure-ris-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if SECRET_KEY == DEVELOPMENT_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY to a long random value, "
        "or set DEBUG=1 for a development run."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "nested_admin",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ris.scheduling.apps.SchedulingConfig",
    "ris.nodes",
    "ris.mpps",
    "ris.outbox",
    "ris.ups",
    "ris.api",
    "ris.web",
    "ris.audit",
    "dimse",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ris.health.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ris.audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ris.urls"
WSGI_APPLICATION = "ris.wsgi.application"

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
            ],
        },
    },
]


def _database_from_environment() -> dict:
    """DATABASE_URL, or an SQLite file under var/ created on first use."""
    default_url = f"sqlite:///{VAR_DIR / 'ris.sqlite3'}"
    url = env.str("DATABASE_URL", default=default_url)
    if url == default_url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    database = env.db_url_config(url)
    database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DATABASE_POOL", default=True
    ):
        # psycopg's pool: a DICOM association or web request takes an open
        # connection instead of opening one (a few milliseconds and a server
        # process each); closing it gives it back.
        database["CONN_MAX_AGE"] = 0  # Django's pool replaces persistent connections
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10),
        }
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # The web process and the DICOM service share one SQLite file: WAL lets
        # readers run beside a writer, IMMEDIATE transactions take the write lock
        # up front (no deadlock upgrading a read lock), and the timeout makes a
        # second writer wait instead of failing with "database is locked".
        database.setdefault("OPTIONS", {}).update(
            {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            }
        )
    return database


DATABASES = {"default": _database_from_environment()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# DICOM dates and times (worklist, MPPS) are local to the department: this is
# the zone they are read and written in. Storage is always UTC.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# HTTPS for the web and the API, on unless DEBUG: cookies only over HTTPS,
# plain HTTP redirected (but for the health check, which load balancers probe),
# and HSTS. Behind a reverse proxy that terminates TLS, RIS_BEHIND_TLS_PROXY
# trusts its X-Forwarded-Proto header (only if the proxy always sets it).
RIS_HTTPS = env.bool("RIS_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = RIS_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("RIS_HSTS_SECONDS", default=31_536_000 if RIS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = RIS_HTTPS
if env.bool("RIS_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env.int("RIS_SESSION_SECONDS", default=8 * 3600)  # a working shift
# security.W021 asks for HSTS preloading: a commitment to browsers' public list,
# for public domains; a hospital's RIS host name is not one.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Days the audit trail keeps its events; `manage.py audit_prune` (run daily)
# deletes older ones. 0: keep them all.
RIS_AUDIT_RETENTION_DAYS = env.int("RIS_AUDIT_RETENTION_DAYS", default=0)

# Failed logins: a user name, or an address (a shared front-desk computer
# fails more), refused for the lockout after this many failures within it.
RIS_LOGIN_FAILURES_PER_USER = env.int("RIS_LOGIN_FAILURES_PER_USER", default=5)
RIS_LOGIN_FAILURES_PER_ADDRESS = env.int("RIS_LOGIN_FAILURES_PER_ADDRESS", default=20)
RIS_LOGIN_LOCKOUT_SECONDS = env.int("RIS_LOGIN_LOCKOUT_SECONDS", default=900)

# The web UI: everything is behind login (ris.web).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:board"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # pynetdicom logs every PDU at INFO; an operator wants our summary lines.
        "pynetdicom": {"level": env.str("PYNETDICOM_LOG_LEVEL", default="WARNING")},
    },
}

# --- The RIS and its DICOM service -----------------------------------------

# Our own application entity title and port (PS3.8: AE title, 16 characters).
RIS_AE_TITLE = env.str("RIS_AE_TITLE", default="RIS")
RIS_DIMSE_PORT = env.int("RIS_DIMSE_PORT", default=11112)
RIS_DIMSE_BIND = env.str("RIS_DIMSE_BIND", default="0.0.0.0")
# Several service processes on one host may share the port (SO_REUSEPORT): the
# kernel spreads new associations across them, one core each.
RIS_DIMSE_REUSE_PORT = env.bool("RIS_DIMSE_REUSE_PORT", default=False)
# DICOM over TLS (dimse.tls) on a port of its own (2762 is DICOM's registered
# TLS port), beside the plain port or, with RIS_DIMSE_TLS_ONLY, instead of it.
# PEM files; with CA certificates set, callers must present a certificate they sign.
RIS_DIMSE_TLS_PORT = env.int("RIS_DIMSE_TLS_PORT", default=None)
RIS_DIMSE_TLS_ONLY = env.bool("RIS_DIMSE_TLS_ONLY", default=False)
RIS_DIMSE_TLS_CERTIFICATE = env.str("RIS_DIMSE_TLS_CERTIFICATE", default="")
RIS_DIMSE_TLS_PRIVATE_KEY = env.str("RIS_DIMSE_TLS_PRIVATE_KEY", default="")
RIS_DIMSE_TLS_CA_CERTIFICATES = env.str("RIS_DIMSE_TLS_CA_CERTIFICATES", default="")
# Associations from AE titles not registered as remote AEs (ris.nodes) are
# rejected unless this is on; the demo started by `make run` turns it on.
RIS_DIMSE_ACCEPT_ANY_AE = env.bool("RIS_DIMSE_ACCEPT_ANY_AE", default=False)
# The calling AE title of health checks (`manage.py dimse_echo`, HAProxy's
# check in deploy/haproxy.cfg): accepted without registration, for C-ECHO
# only; empty turns it off.
RIS_DIMSE_HEALTH_CHECK_AE_TITLE = env.str("RIS_DIMSE_HEALTH_CHECK_AE_TITLE", default="HEALTHCHECK")
RIS_DIMSE_MAX_ASSOCIATIONS = env.int("RIS_DIMSE_MAX_ASSOCIATIONS", default=100)
RIS_DIMSE_ACSE_TIMEOUT = env.float("RIS_DIMSE_ACSE_TIMEOUT", default=30)
RIS_DIMSE_DIMSE_TIMEOUT = env.float("RIS_DIMSE_DIMSE_TIMEOUT", default=30)
RIS_DIMSE_NETWORK_TIMEOUT = env.float("RIS_DIMSE_NETWORK_TIMEOUT", default=60)
RIS_DIMSE_MAX_PDU_SIZE = env.int("RIS_DIMSE_MAX_PDU_SIZE", default=65536)
# Seconds that in-flight associations get to finish after SIGTERM.
RIS_DIMSE_SHUTDOWN_GRACE = env.float("RIS_DIMSE_SHUTDOWN_GRACE", default=30)

# MPPS DISCONTINUED needs a Discontinuation Reason Code Sequence item (IHE
# SWF); off for modalities that never send one (PS3.4 makes it optional).
RIS_MPPS_REQUIRE_DISCONTINUATION_REASON = env.bool(
    "RIS_MPPS_REQUIRE_DISCONTINUATION_REASON", default=True
)

# Seconds a modality's worklist rows may be read before its C-FIND request is
# read: once its association is accepted, the rows of the question its AE
# title last asked are read while it sends its request (dimse.handlers.read_ahead).
# 0: read every query's rows after its request.
RIS_DIMSE_WORKLIST_READ_AHEAD = env.float("RIS_DIMSE_WORKLIST_READ_AHEAD", default=0.1)

# Which Scheduled Procedure Step Status values are on the worklist.
RIS_WORKLIST_STATUSES = env.list("RIS_WORKLIST_STATUSES", default=["SCHEDULED", "ARRIVED", "READY"])

# Root for the UIDs the RIS makes (Study Instance UIDs, ...). Empty: pydicom's
# registered root. A site with its own root (ISO OID) sets it here, ending in ".".
RIS_UID_ROOT = env.str("RIS_UID_ROOT", default="")

# Accession numbers are made by the RIS (IHE: the Order Filler assigns them);
# their issuer goes into Issuer of Accession Number Sequence (0008,0051).
RIS_ACCESSION_PREFIX = env.str("RIS_ACCESSION_PREFIX", default="A")
RIS_ACCESSION_ISSUER = env.str("RIS_ACCESSION_ISSUER", default="RIS")

# --- The outbox: messages the RIS sends (MPPS forwarding; later UPS events, webhooks)

# Seconds between looks at the queue when nothing wakes the dispatcher. On
# PostgreSQL a NOTIFY wakes it at once for a new message; retries fall due by
# the clock and are picked up at the next look.
RIS_OUTBOX_POLL_INTERVAL = env.float("RIS_OUTBOX_POLL_INTERVAL", default=1.0)
# A failed delivery is retried after BASE seconds, doubling each time up to CAP.
RIS_OUTBOX_BACKOFF_BASE = env.float("RIS_OUTBOX_BACKOFF_BASE", default=2.0)
RIS_OUTBOX_BACKOFF_CAP = env.float("RIS_OUTBOX_BACKOFF_CAP", default=300.0)
# Failed attempts after which a message is given up; 0 (the default): never,
# so a destination that is down loses nothing and gets everything, in order,
# when it is back. Messages a destination refuses for good are given up at once.
RIS_OUTBOX_MAX_ATTEMPTS = env.int("RIS_OUTBOX_MAX_ATTEMPTS", default=0)
# Seconds a dispatcher has to deliver a message it claimed before another one
# may send it again (the first is presumed dead). Keep it above the slowest
# delivery: connection, ACSE, DIMSE and network timeouts together.
RIS_OUTBOX_CLAIM_TIMEOUT = env.float("RIS_OUTBOX_CLAIM_TIMEOUT", default=300.0)
# Seconds to wait for the TCP connection of an association the dispatcher opens.
RIS_OUTBOX_DICOM_CONNECTION_TIMEOUT = env.float("RIS_OUTBOX_DICOM_CONNECTION_TIMEOUT", default=10.0)

# Unified Procedure Step: how long a COMPLETED or CANCELED workitem that no
# subscriber holds a Deletion Lock on stays in the worklist (for N-GET and a
# performer's retried request); after that it is kept for audit only.
RIS_UPS_FINAL_RETENTION = env.float("RIS_UPS_FINAL_RETENTION", default=300.0)
# Threads delivering UPS events (N-EVENT-REPORT) in each process that
# dispatches: as many subscribers are served at once; each subscriber still
# gets its events one at a time, in order.
RIS_UPS_EVENT_DISPATCH_THREADS = env.int("RIS_UPS_EVENT_DISPATCH_THREADS", default=4)

# --- The REST API for the HIS (/api/v1/) -----------------------------------------

REST_FRAMEWORK = {
    # Each HIS client has its own token (Authorization: Token <key>); people
    # logged in to the admin use the browsable API with their session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # HIS clients by their token; people by the permissions of their roles.
    "DEFAULT_PERMISSION_CLASSES": ["ris.api.permissions.ClientOrRole"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("RIS_API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("RIS_API_THROTTLE_USER", default="6000/minute"),
        "anon": env.str("RIS_API_THROTTLE_ANON", default="60/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RIS API",
    "DESCRIPTION": "Orders, patients and performed steps for the hospital information system.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its page describe the API to its clients, not to anyone.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The interactive page's assets come from a package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Three models have a status field each: name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "ris.scheduling.models.OrderStatus",
        "StepStatusEnum": "ris.scheduling.models.StepStatus",
        "PerformedStepStatusEnum": "ris.mpps.models.STATUS_CHOICES",
    },
}

# Seconds between looks for new UPS events while a UPS-RS subscriber's
# WebSocket is open.
RIS_UPSRS_WEBSOCKET_POLL_INTERVAL = env.float("RIS_UPSRS_WEBSOCKET_POLL_INTERVAL", default=0.25)
# Seconds to wait for a HIS callback endpoint to answer.
RIS_WEBHOOK_TIMEOUT = env.float("RIS_WEBHOOK_TIMEOUT", default=10.0)
# The most workitems one UPS-RS search returns; a Warning says how many more
# there are, to be fetched with offset.
RIS_UPSRS_MAX_RESULTS = env.int("RIS_UPSRS_MAX_RESULTS", default=1000)

# --- The scheduler's web UI ----------------------------------------------------

# Seconds between the day board's looks for changes (MPPS, other schedulers).
RIS_WEB_BOARD_REFRESH = env.float("RIS_WEB_BOARD_REFRESH", default=5.0)
