from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-lectern-key"  # noqa: S105
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks inline; integration tests start a real worker (tests/conftest.py).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# Keep test keys apart from a dev server that may share the Redis instance.
CACHES["default"]["KEY_PREFIX"] = "lectern-test"  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
# Test tasks go to their own queue so a running dev worker never picks them up.
CELERY_TASK_DEFAULT_QUEUE = "lectern-test"
