"""Submit ``N`` visitor requests in the database named by ``DATABASE_URL`` and print their ids.

Run as a subprocess against the private PostgreSQL cluster (``python -m tests.faults.pg_requests 6``),
with the scenario's ``LECTERN_TEST_ID`` and ``CELERY_TASK_ALWAYS_EAGER=false``: each request is
stored with its budget hold, as the submit API stores it, and its task goes to the scenario's worker.
"""

from __future__ import annotations

import json
import os
import sys


def main(count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from ai_core.services.requests import ai_request_submit

    user, _ = get_user_model().objects.get_or_create(username="pg-asker", defaults={"email": "a@example.com"})
    ids = [
        str(ai_request_submit(prompt_key="content_classify", payload={"text": f"Invoice {n}: where is it?"},
                              user=user).pk)
        for n in range(count)
    ]  # fmt: skip
    print(json.dumps(ids))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
