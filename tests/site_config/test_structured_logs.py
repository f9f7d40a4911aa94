"""JSON log lines name the AI request they belong to, in the web process and in the real worker."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from ai_core.logcontext import JsonFormatter, LogContextFilter
from ai_core.models import AIRequest
from site_config.celery_routes import worker_queues
from tests.conftest import start_celery_worker, stop_celery_worker, tasks_routed_to, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def json_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker (local provider) logging as it would in production: JSON lines on stderr."""
    from django.conf import settings

    with django_db_blocker.unblock():
        proc = start_celery_worker(
            queue=f"{settings.CELERY_TASK_DEFAULT_QUEUE}-jsonlogs",
            log_path=tmp_path_factory.mktemp("celery-jsonlogs") / "worker.log",
            extra_env={"LECTERN_LOG_FORMAT": "json", "OPENBLAS_NUM_THREADS": "1"},
        )
    yield proc
    stop_celery_worker(proc)


@pytest.fixture
def web_log():
    """The test process's log records, formatted the way settings' "json" console handler does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # Celery's start-up banner is printed, not logged
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


def test_the_worker_logs_a_task_with_the_ai_request_id_the_web_request_logged(client, json_worker, web_log):
    with tasks_routed_to(json_worker.queue):
        response = client.post(
            "/api/ai/ask/", json.dumps({"question": "How do refunds work?"}), content_type="application/json"
        )
    assert response.status_code == 202
    request_id = response.json()["id"]
    wait_for(
        lambda: client.get(response.json()["poll_url"]).json()["status"] in AIRequest.TERMINAL,
        timeout=60,
        message=f"not finished; worker log:\n{json_worker.log_path.read_text()}",
    )

    (submitted,) = [line for line in web_log() if line["message"].startswith("ai_request submitted")]
    assert submitted["ai_request_id"] == request_id
    assert submitted["prompt_key"] == "rag_answer"
    assert submitted["level"] == "INFO"

    def task_lines() -> list[dict]:
        lines = json_lines(json_worker.log_path.read_text())
        # Celery's own "Task ... succeeded" line: logged after the task function has returned.
        return lines if any("succeeded" in line["message"] for line in lines) else []

    lines = wait_for(task_lines, timeout=20, message=json_worker.log_path.read_text())
    tagged = [line for line in lines if line.get("ai_request_id") == request_id]
    messages = [line["message"] for line in tagged]
    assert any(message.startswith("ai_request processing attempt=1") for message in messages), lines
    assert any(message.startswith("ai_request processed status=done") for message in messages), lines
    # Celery's line is tagged from the message header, not by our task code.
    assert any(line["logger"] == "celery.app.trace" and "succeeded" in line["message"] for line in tagged)
    assert {line["prompt_key"] for line in tagged} == {"rag_answer"}
    (task_id,) = {line["task_id"] for line in tagged}
    assert task_id
    # Every line the task logged carries the request id: none slipped out untagged.
    assert [line for line in lines if line.get("task_id") == task_id and line not in tagged] == []


def test_views_about_one_request_log_with_its_id_and_only_while_they_run(client, web_log, settings):
    import redis

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-nobody"
    try:
        with tasks_routed_to(queue):  # no worker consumes this queue: the request stays pending
            submitted = client.post(
                "/api/ai/ask/", json.dumps({"question": "Refunds?"}), content_type="application/json"
            )
        request_id = submitted.json()["id"]
        logging.getLogger("tests.structured_logs").info("between")
        cancelled = client.post(f"/api/ai/requests/{request_id}/cancel/")
        assert cancelled.json()["status"] == "cancelled"
        logging.getLogger("tests.structured_logs").info("after")
        unknown = uuid.uuid4()
        assert client.get(f"/api/ai/requests/{unknown}/").status_code == 404
    finally:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(*worker_queues(queue))

    lines = web_log()
    by_message = {line["message"]: line for line in lines}
    # The cancel view settles the budget; its line is tagged from the URL by LogContextMiddleware.
    (settled,) = [line for line in lines if line["message"].startswith("budget settled")]
    assert settled["ai_request_id"] == request_id
    # Django's own 404 line is written after the view returned, and still names the id asked for.
    assert by_message[f"Not Found: /api/ai/requests/{unknown}/"]["ai_request_id"] == str(unknown)
    # Each id belongs to its HTTP request only.
    assert "ai_request_id" not in by_message["between"]
    assert "ai_request_id" not in by_message["after"]
