from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Development only; production.py refuses to start without a real key from the environment.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-insecure-lectern-key-do-not-use-in-production")  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# Serve static files straight from app folders while developing (no collectstatic step).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
