"""End to end with a real Celery worker process: publish in the admin, the worker runs the golden
cases on the local provider and publishes; this process then serves the new version."""

from __future__ import annotations

import time

import pytest

from ai_core.models import PromptEvalRun
from ai_core.prompts.registry import get_prompt

from .test_admin_views import FAILING_CASE, form_data, url


def wait_for_run(timeout: float = 90) -> PromptEvalRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = PromptEvalRun.objects.order_by("-pk").first()
        if (
            run is not None
            and run.is_finished
            and (run.status != PromptEvalRun.Status.PASSED or run.published)
        ):
            return run
        time.sleep(0.2)
    pytest.fail(f"the worker did not finish the golden run within {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_the_worker_publishes_a_passing_revision_and_every_process_sees_it(
    admin_client, live_prompt, celery_live
) -> None:
    row = live_prompt("rag_answer", version=3)
    data = {**form_data(row.to_spec(), description="Published by the worker."), "action-publish": "1"}
    response = admin_client.post(url("edit", row.pk), data)
    assert response.status_code == 302
    assert get_prompt("rag_answer").version == 3  # the request published nothing

    run = wait_for_run()
    assert (run.status, run.published) == (PromptEvalRun.Status.PASSED, True), run.note
    deadline = time.monotonic() + 5
    while get_prompt("rag_answer").version != 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker bumped the stamp; this process re-checks within ~1 s
    assert get_prompt("rag_answer").description == "Published by the worker."


@pytest.mark.django_db(transaction=True)
def test_the_worker_rejects_a_failing_revision(admin_client, live_prompt, celery_live) -> None:
    row = live_prompt("rag_answer", version=3)
    spec = row.to_spec()
    golden = [*spec.to_dict()["golden"], FAILING_CASE]
    data = {**form_data(spec, description="Should never go live.", golden=golden), "action-publish": "1"}
    admin_client.post(url("edit", row.pk), data)

    run = wait_for_run()
    assert (run.status, run.published) == (PromptEvalRun.Status.FAILED, False)
    assert [case["name"] for case in run.failed_cases] == ["mentions zebras"]
    time.sleep(1.2)
    assert get_prompt("rag_answer").description != "Should never go live."
