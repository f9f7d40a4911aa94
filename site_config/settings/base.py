"""Settings shared by every environment. Secrets and service URLs come only from the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

PROJECT_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PROJECT_DIR.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_FAILURE_VIEW = "site_config.views.csrf_failure"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "content",
    "ai_core",
    "ai_core.budgets",
    "ai_core.rag",
    "review",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "wagtail_modeladmin",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Login throttling for the Wagtail admin and the Django admin (see "Login throttling" below).
    "axes",
]

MIDDLEWARE = [
    "site_config.middleware.NoModelCallsInRequestMiddleware",
    "site_config.middleware.LogContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes requires: it turns a login refused for lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
    # Sync only, so under ASGI the chain above runs in one thread instead of hopping to it and back
    # for every middleware's hooks. Axes still sees the view's response: this one only passes it on.
    "site_config.middleware.OneThreadChainMiddleware",
]

ROOT_URLCONF = "site_config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "site_config.wsgi.application"
ASGI_APPLICATION = "site_config.asgi.application"

# PostgreSQL with pgvector, everywhere (tests included). scripts/services.sh provides it locally.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://lectern:lectern@127.0.0.1:5432/lectern"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Under ASGI each request runs its sync code in a thread of its own, so a persistent connection is
# never reused: every request connects (~7 ms with scram auth) and the old connections pile up until
# PostgreSQL refuses clients (seen in bench/http_throughput.py). Django's advice for ASGI is
# CONN_MAX_AGE 0 plus a pool: DATABASE_POOL=true, for the web server. Celery workers (one thread per
# process) keep their persistent connection, which CONN_HEALTH_CHECKS checks with a query before
# reuse. A pooled connection is checked on checkout without a round trip instead (the engine in
# site_config/postgresql: a connection PostgreSQL closed has a readable socket), so a PostgreSQL
# restart still costs no failed request; the pool's own query check is off.
DATABASES["default"]["ENGINE"] = "site_config.postgresql"
# Prepared statements. Django's own cursors bind parameters client-side and are never prepared;
# the few statements sent with server-side binding (retrieval's candidates' evidence query, planned
# for about as long as it runs) are prepared by psycopg after this many runs on a connection.
# Django turns preparing off by default for transaction-mode poolers: behind PgBouncer without
# max_prepared_statements, set DATABASE_PREPARE_THRESHOLD=off.
_prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip().lower()
if _prepare_threshold != "off" and not _prepare_threshold.isdigit():
    raise ImproperlyConfigured(
        f"DATABASE_PREPARE_THRESHOLD must be a whole number of runs or 'off', not {_prepare_threshold!r}"
    )
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    None if _prepare_threshold == "off" else int(_prepare_threshold)
)
if env.bool("DATABASE_POOL", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
# A network that drops packets without a FIN or an RST (a partition, a failover to another host, a
# NAT or firewall entry that expired) leaves a connection that looks healthy: the pool's socket
# check passes, and TCP retransmits a query for about 15 minutes before it gives up, holding the
# request (or the worker) all that time. tcp_user_timeout ends a connection whose sent data goes
# unacknowledged this long, and keepalives find a dead idle one; a live server acknowledges at the
# TCP level however long its query runs, so neither cuts a slow query short. Values in the
# DATABASE_URL's query string win. DATABASE_NETWORK_TIMEOUT=0 leaves all of it to the OS.
_network_timeout = env.int("DATABASE_NETWORK_TIMEOUT", default=10)
if _network_timeout < 0:
    raise ImproperlyConfigured(f"DATABASE_NETWORK_TIMEOUT must be 0 (off) or seconds, not {_network_timeout}")
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_db_options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
if _network_timeout:
    for _name, _value in {
        "tcp_user_timeout": _network_timeout * 1000,  # milliseconds
        "keepalives": 1,
        "keepalives_idle": _network_timeout,
        "keepalives_interval": max(1, _network_timeout // 3),
        "keepalives_count": 3,
    }.items():
        _db_options.setdefault(_name, _value)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every Redis client of the site gives up on a silent connection after this (redis-py's default
# is to wait forever); the few that block on purpose (stream reads) set their own.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=5.0)
if REDIS_SOCKET_TIMEOUT <= 0:
    raise ImproperlyConfigured(
        f"REDIS_SOCKET_TIMEOUT must be a number of seconds above 0, not {REDIS_SOCKET_TIMEOUT}"
    )

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "lectern",
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_keepalive": True,
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login throttling (django-axes) for /admin/login/ (Wagtail) and /django-admin/login/.
# AxesStandaloneBackend comes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("LECTERN_LOGIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = env.int("LECTERN_LOGIN_FAILURE_LIMIT", default=5)
_LOGIN_COOLOFF_MINUTES = env.int("LECTERN_LOGIN_COOLOFF_MINUTES", default=15)
if _LOGIN_COOLOFF_MINUTES < 1:
    # django-axes reads a zero cool-off as "locked until an administrator resets it".
    raise ImproperlyConfigured("LECTERN_LOGIN_COOLOFF_MINUTES must be at least 1.")
AXES_COOLOFF_TIME = timedelta(minutes=_LOGIN_COOLOFF_MINUTES)
# Username and address together: a guesser is stopped on the account they attack, but cannot lock a
# colleague out from another address (a lockout on the username alone would be a denial of service).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The same client address as budgets and rate limits: X-Forwarded-For only from LECTERN_TRUSTED_PROXIES,
# IPv6 counted per /64, so behind a proxy the whole site does not share one lockout.
AXES_CLIENT_IP_CALLABLE = "ai_core.clients.client_key"
AXES_RESET_ON_SUCCESS = True  # a user who mistyped twice and then got it right starts from zero
AXES_COOLOFF_MESSAGE = (
    "Too many failed sign-in attempts for this account from your address. "
    f"Sign-in is blocked for {_LOGIN_COOLOFF_MINUTES} minutes; try again later "
    "or ask an administrator to unlock it."
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATICFILES_DIRS = [PROJECT_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "static")
STATIC_URL = "/static/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- Celery: Redis broker; results live in our own models, not in a result backend.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# One Redis client per channel rather than per publish (site_config/broker.py); plain redis:// only.
CELERY_BROKER_TRANSPORT = "site_config.broker:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# One queue per workload, named "<default queue>.<workload>" (site_config/celery_routes.py), so
# that a workload's backlog delays only its own kind of work: a bulk re-index never holds up a
# visitor's answer, and a page taken away from visitors (privacy, unpublish, delete) leaves the
# index without waiting behind either. Deployments give each group its own workers
# (docs/DEPLOYMENT.md); a single worker consuming every queue takes them in turn (kombu's Redis
# transport rotates the queues it reads after each message), which bounds a removal's wait to the
# tasks already running. Tasks not listed here (the heartbeat) go to the default queue, which
# every worker consumes too.
LECTERN_WORKLOADS = ("visitor", "removals", "indexing", "batch", "maintenance")
LECTERN_TASK_WORKLOADS = {
    # Answers a visitor is waiting for.
    "ai_core.process_request": "visitor",
    # One question embedding, so an approved answer can serve visitors as soon as possible.
    "ai_core.approved_answer_embed": "visitor",
    # Chunks leaving the index: short (no embedding), and never behind a bulk re-index.
    "content.unindex_page": "removals",
    "content.unindex_document": "removals",
    # Embedding work: publish, re-index (one page or a batch of a fan-out), S3 documents.
    "content.index_page": "indexing",
    "content.index_pages": "indexing",
    "content.index_document": "indexing",
    "rag.ingest_s3": "indexing",
    # Work the site does for itself, in bulk: page summaries (and their generation), golden runs.
    "content.summarize_page": "batch",
    "content.summarize_page_force": "batch",
    "ai_core.process_system_request": "batch",
    "ai_core.run_prompt_eval": "batch",
    # Beat jobs and what they send: sweeps, recovery, settlement, alerts, digests.
    "ai_core.recover_stalled_requests": "maintenance",
    "ai_core.purge_expired_requests": "maintenance",
    "budgets.reset_daily": "maintenance",
    "budgets.check_alerts": "maintenance",
    "budgets.check_alerts_for_request": "maintenance",
    "budgets.send_alert_email": "maintenance",
    "review.send_digest": "maintenance",
    "review.escalate_stale": "maintenance",
    "review.send_assignment_notice": "maintenance",
    "content.summaries_catch_up": "maintenance",
    "maintenance.publish_scheduled": "maintenance",
    "maintenance.clear_sessions": "maintenance",
    "rag.scope_indexes_sync": "maintenance",
}
CELERY_TASK_ROUTES = ("site_config.celery_routes.route_by_workload",)
# What a worker started without -Q consumes: these workloads' queues and the default queue
# (comma-separated, e.g. "visitor" or "maintenance,removals"). Empty: every queue.
LECTERN_WORKER_WORKLOADS = env.list("LECTERN_WORKER_WORKLOADS", default=[])
# Workloads whose tasks never embed: a removal that finds its page or document public again hands
# it to the indexing queue instead. A worker consuming only these does not load the embedder's
# weights at start (ai_core.providers.warm_up); a task there that did embed would load them first.
LECTERN_WORKLOADS_WITHOUT_EMBEDDING = ("removals", "maintenance")


def celery_queues(default_queue: str) -> list:
    """The queues a worker consumes when started without ``-Q``, and that /metrics reports the
    depth of. Named as ``site_config.celery_routes.workload_queue`` names them (a test holds the
    two together); this file cannot import that module, whose package loads the Celery app."""
    from kombu import Exchange, Queue

    # Each on its own direct exchange and routing key, as Celery creates a queue it was not told
    # about: a bare Queue(name) would get the default exchange and routing key, which binds every
    # one of these queues to the default queue's key, so each message would land in all of them.
    names = (default_queue, *(f"{default_queue}.{w}" for w in LECTERN_WORKLOADS))
    return [Queue(name, Exchange(name), routing_key=name) for name in names]


CELERY_TASK_QUEUES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A task killed mid-run (worker lost) is redelivered rather than dropped; tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process warms up the providers (MiniLM weights) in worker_process_init; under load that
# takes longer than Celery's 4 s default, and the replacement for a killed process (hard time
# limit, OOM) was itself killed again and again, leaving the worker up but running nothing.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env.float("CELERY_WORKER_PROC_ALIVE_TIMEOUT", default=60.0)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
# Redis redelivers unacked messages after this; it must exceed the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    # Without these a publish waits forever on a broker connection the network cut silently
    # (kombu's own advice); the consumer's BRPOP runs in the event loop and has its own check.
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_keepalive": True,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict = {
    # Budgets also reset lazily (counters are keyed by day); this only clears yesterday's keys.
    "reset-daily-budgets": {"task": "budgets.reset_daily", "schedule": 3600.0},
    # Held AI outputs pending longer than AI_CORE["REVIEW"]["ESCALATE_AFTER_MINUTES"] are escalated.
    "review-escalate-stale": {"task": "review.escalate_stale", "schedule": 300.0},
    # Daily cost alerts (AI_CORE["ALERTS"]); each settled request also checks its own scopes at once.
    "budget-alerts-check": {"task": "budgets.check_alerts", "schedule": 60.0},
    # AI requests whose task message was lost (a Redis restart, a broker outage at submit time).
    "ai-requests-recover-stalled": {"task": "ai_core.recover_stalled_requests", "schedule": 60.0},
    # Retention (AI_CORE["PRIVACY"]["RETENTION_DAYS"], off by default): old visitor requests are
    # anonymised or deleted. Hourly, so a first run over a large table is spread over several.
    "ai-requests-purge-expired": {
        "task": "ai_core.purge_expired_requests",
        "schedule": 3600.0,
        "options": {"expires": 3000.0},
    },
    # Page summaries refused for budget (the system pool was empty) or stale after a re-index are
    # asked for again, AI_CORE["SUMMARY_CATCH_UP"]["BATCH"] per run. An overdue run is dropped.
    "summaries-catch-up": {
        "task": "content.summaries_catch_up",
        "schedule": 60.0,
        "options": {"expires": 55.0},
    },
    # Wagtail's scheduled publishing: page and snippet (prompt) go-live and expiry take effect only
    # when `publish_scheduled` runs (site_config/tasks.py).
    # A run still queued after a minute is dropped: the next one does the same work.
    "wagtail-publish-scheduled": {
        "task": "maintenance.publish_scheduled",
        "schedule": 60.0,
        "options": {"expires": 55.0},
    },
    # Expired sessions are never deleted by Django itself; without this the table only grows.
    "django-clear-sessions": {"task": "maintenance.clear_sessions", "schedule": 24 * 3600.0},
    # Scope indexes (partial HNSW per site and locale, manage.py rag_scope_indexes) follow the
    # index: built for scopes that grew into range, dropped for sites that went. Nothing to do is
    # a few queries; builds are CONCURRENTLY, so questions and indexing go on.
    "rag-scope-indexes-sync": {
        "task": "rag.scope_indexes_sync",
        "schedule": 24 * 3600.0,
        "options": {"expires": 3600.0},
    },
}

# --- Wagtail
WAGTAIL_SITE_NAME = "Lectern"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "md", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
# The document library as content (content/documents/): PDF, .docx, Markdown and text files are
# indexed for answers. COLLECTION_SITES maps a collection (name or id) to the one site (id or
# hostname) whose visitors may read its documents; unmapped collections belong to every site.
LECTERN_DOCUMENTS = {"COLLECTION_SITES": env.json("LECTERN_DOCUMENT_COLLECTION_SITES", default={})}

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="lectern@localhost")

# --- Observability. /metrics answers a bearer token equal to this (or staff allowed to view usage).
LECTERN_METRICS_TOKEN = env("LECTERN_METRICS_TOKEN", default="")
LOG_FORMATS = ("plain", "json")


def log_format_from_env(default: str) -> str:
    """``LECTERN_LOG_FORMAT``: "json" (one object per line, for log shippers) or "plain"."""
    from django.core.exceptions import ImproperlyConfigured

    value = env("LECTERN_LOG_FORMAT", default=default)
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"LECTERN_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}."
        )
    return value


LECTERN_LOG_FORMAT = log_format_from_env("plain")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(log_context)s %(message)s"},
        "json": {"()": "ai_core.logcontext.JsonFormatter"},
    },
    # Every line names the AI request (and Celery task) it belongs to; see ai_core/logcontext.py.
    "filters": {"log_context": {"()": "ai_core.logcontext.LogContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LECTERN_LOG_FORMAT,
            "filters": ["log_context"],  # the plain format needs it too (%(log_context)s)
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Wagtail 8 runs its search/reference index updates as django-tasks; one INFO line each is noise.
        "django_tasks": {"level": "WARNING"},
        # Its start-up banner on every process and command; lockouts are still logged (axes.handlers).
        "axes.apps": {"level": "WARNING"},
    },
}

from .ai import *  # noqa: E402,F403  (the AI_CORE settings namespace)
