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
# LECTERN_TEST_ID keeps concurrent test runs (several developers or agents on one machine) apart:
# their own test database, Celery queue and cache prefix.
_TEST_ID = env("LECTERN_TEST_ID", default="")
_SUFFIX = f"-{_TEST_ID}" if _TEST_ID else ""
DATABASES["default"]["TEST"] = {"NAME": "test_lectern" + _SUFFIX.replace("-", "_")}  # noqa: F405
# Keep test keys apart from a dev server that may share the Redis instance.
CACHES["default"]["KEY_PREFIX"] = "lectern-test" + _SUFFIX  # noqa: F405
AI_CORE["REDIS_PREFIX"] = "lectern-test" + _SUFFIX  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
# Test tasks go to their own queue so a running dev worker never picks them up.
CELERY_TASK_DEFAULT_QUEUE = "lectern-test" + _SUFFIX
# ...and so do its workload queues ("lectern-test-<id>.visitor", ...; site_config/celery_routes.py).
CELERY_TASK_QUEUES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)  # noqa: F405
# Fault tests (tests/faults) let their own broker redeliver a killed worker's task within seconds
# (e.g. {"unacked_restore_interval": 1, "unacked_restore_throttle": 1}); empty everywhere else.
CELERY_BROKER_TRANSPORT_OPTIONS.update(env.json("LECTERN_TEST_BROKER_TRANSPORT_OPTIONS", default={}))  # noqa: F405
