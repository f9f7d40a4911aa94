"""Production: refuses insecure defaults instead of quietly running with them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, log_format_from_env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production settings.")

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("dev-", "test-", "django-insecure")):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters in production."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers and orchestrators probe liveness over plain HTTP inside the network; a redirect
# would read as "down". /metrics is not exempt: it carries a bearer token.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preload is on so `check --deploy` is clean; set DJANGO_SECURE_HSTS_PRELOAD=false for domains not ready for it.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405

# One JSON object per log line (with ai_request_id / task_id) unless LECTERN_LOG_FORMAT=plain.
LECTERN_LOG_FORMAT = log_format_from_env("json")
LOGGING["handlers"]["console"]["formatter"] = LECTERN_LOG_FORMAT  # noqa: F405
if LECTERN_METRICS_TOKEN and len(LECTERN_METRICS_TOKEN) < 32:  # noqa: F405
    raise ImproperlyConfigured("LECTERN_METRICS_TOKEN must be at least 32 random characters (or unset).")
