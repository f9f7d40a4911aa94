"""Celery beat runs Wagtail's scheduled publishing and Django's session clean-up.

Without a beat task nothing ever calls ``publish_scheduled``: a page scheduled to go live stays a
404 and one due to expire stays public. Tasks run inline here (eager Celery), as the worker would
run them when beat sends them.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from wagtail.models import Page, Site

from site_config.celery_app import app
from site_config.tasks import clear_sessions, publish_scheduled
from tests.content.factories import ArticlePageFactory, HomePageFactory
from tests.rag.conftest import ensure_wagtail_initial_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def home():
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-maintenance")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    return home


def test_beat_schedules_publish_scheduled_every_minute_and_clearsessions_daily():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["maintenance.publish_scheduled"] == 60.0
    assert schedule["maintenance.clear_sessions"] == 24 * 3600.0
    # Registered with the worker's app under the names beat sends.
    app.loader.import_default_modules()
    assert {"maintenance.publish_scheduled", "maintenance.clear_sessions"} <= set(app.tasks)


def test_a_page_scheduled_in_the_past_goes_live_when_the_beat_task_runs(home, client):
    page = ArticlePageFactory(parent=home, title="Spring sale", slug="spring-sale", live=False)
    page.go_live_at = timezone.now() - timedelta(minutes=1)
    # What "Publish" with a go-live date does in the admin: an approved revision waiting for its time.
    page.save_revision(approved_go_live_at=page.go_live_at)
    url = "/spring-sale/"
    assert client.get(url).status_code == 404
    assert publish_scheduled.apply().get() is True
    assert Page.objects.get(pk=page.pk).live
    response = client.get(url)
    assert response.status_code == 200 and "Spring sale" in response.content.decode()


def test_a_page_scheduled_in_the_future_stays_unpublished(home, client):
    page = ArticlePageFactory(parent=home, title="Summer sale", slug="summer-sale", live=False)
    page.go_live_at = timezone.now() + timedelta(hours=1)
    page.save_revision(approved_go_live_at=page.go_live_at)
    publish_scheduled.apply().get()
    assert not Page.objects.get(pk=page.pk).live
    assert client.get("/summer-sale/").status_code == 404


def test_an_expired_page_is_taken_down_when_the_beat_task_runs(home, client):
    page = ArticlePageFactory(parent=home, title="Winter sale", slug="winter-sale")
    assert client.get("/winter-sale/").status_code == 200
    Page.objects.filter(pk=page.pk).update(expire_at=timezone.now() - timedelta(minutes=1))
    publish_scheduled.apply().get()
    page.refresh_from_db()
    assert not page.live and page.expired
    assert client.get("/winter-sale/").status_code == 404


def test_expired_sessions_are_deleted_and_live_ones_kept():
    store = import_module(settings.SESSION_ENGINE).SessionStore
    expired, current = store(), store()
    expired.set_expiry(-60)
    expired.create()
    current.create()
    clear_sessions.apply().get()
    assert list(Session.objects.values_list("session_key", flat=True)) == [current.session_key]


def test_a_scheduled_prompt_revision_goes_live_when_the_beat_task_runs():
    """Editors schedule prompt changes too; the golden-case gate passed when they scheduled it."""
    from ai_core.live_prompts.source import clear_live_prompts
    from ai_core.models import PromptEvalRun, PromptTemplate
    from ai_core.models.prompts import spec_fingerprint, ungated_publish
    from ai_core.prompts.registry import get_prompt, yaml_prompts

    clear_live_prompts()
    row = PromptTemplate(live=False)
    row.apply_spec(yaml_prompts()["rag_answer"])
    row.save()
    with ungated_publish("test set-up"):
        row.save_revision().publish()
    draft = PromptTemplate.objects.get(pk=row.pk).get_latest_revision_as_object()
    draft.system = "From Monday: answer in two sentences at most."
    draft.full_clean()
    # Scheduled for a minute ago and approved then (what publishing with a go-live date leaves),
    # as if that minute had passed with no beat running.
    draft.go_live_at = timezone.now() - timedelta(minutes=1)
    revision = draft.save_revision(approved_go_live_at=draft.go_live_at)
    PromptEvalRun.objects.create(
        prompt=row,
        revision=revision,
        version=draft.version,
        fingerprint=spec_fingerprint(draft.to_spec()),
        status=PromptEvalRun.Status.PASSED,
    )
    assert "two sentences" not in get_prompt("rag_answer").system
    publish_scheduled.apply().get()
    clear_live_prompts()
    assert get_prompt("rag_answer").system == "From Monday: answer in two sentences at most."


def test_a_revision_that_cannot_publish_is_unscheduled_and_blocks_nothing_after_it(home, client, caplog):
    """Wagtail's command stops at the first revision that raises; here the prompt gate refuses a
    scheduled prompt whose passing run no longer matches its content (autosave overwrote it)."""
    from wagtail.models import ModelLogEntry, Revision

    from ai_core.models import PromptTemplate
    from ai_core.models.prompts import ungated_publish
    from ai_core.prompts.registry import yaml_prompts

    row = PromptTemplate(live=False)
    row.apply_spec(yaml_prompts()["rag_answer"])
    row.save()
    with ungated_publish("test set-up"):
        row.save_revision().publish()
    draft = PromptTemplate.objects.get(pk=row.pk).get_latest_revision_as_object()
    draft.system = "Untested content."
    draft.full_clean()
    draft.go_live_at = timezone.now() - timedelta(minutes=5)
    poisoned = draft.save_revision(approved_go_live_at=draft.go_live_at)  # no passing run for it
    page = ArticlePageFactory(parent=home, title="Spring sale", slug="spring-sale", live=False)
    page.go_live_at = timezone.now() - timedelta(minutes=1)  # due after the prompt
    page.save_revision(approved_go_live_at=page.go_live_at)

    assert publish_scheduled.apply().get() is True
    assert client.get("/spring-sale/").status_code == 200
    poisoned.refresh_from_db()
    assert poisoned.approved_go_live_at is None
    assert PromptTemplate.objects.get(pk=row.pk).system != "Untested content."
    assert "failed and was unscheduled" in caplog.text and "golden-case run" in caplog.text
    assert not Revision.objects.filter(approved_go_live_at__isnull=False).exists()
    # Editors see it in the prompt's history.
    assert ModelLogEntry.objects.filter(object_id=str(row.pk), action="wagtail.schedule.cancel").exists()
