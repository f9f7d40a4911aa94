"""The per-process memo of which site serves a host (content/site_hosts.py): a new or changed
Site is seen by the very next question, in this process and, through the version in Redis, in
every other; without Redis the answer still comes from the database."""

from __future__ import annotations

import json
from unittest import mock

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from ai_core.models import AIRequest
from ai_core.resilience.runtime import shared_redis
from content import site_hosts
from content.visibility import site_id_for_host
from tests.content.factories import HomePageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(settings):
    settings.ALLOWED_HOSTS = ["*"]
    # Transactional tests start from a flushed database, without the migrations' locale.
    Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    Site.objects.all().delete()
    default = Site.objects.create(
        hostname="a.example", port=80, is_default_site=True, root_page=HomePageFactory(parent=root, slug="a")
    )
    return root, default


def ask(client, host: str) -> int | None:
    body = {"prompt_key": "rag_answer", "payload": {"question": "Refunds?"}}
    with mock.patch("ai_core.services.requests._enqueue"):  # only where it was asked from matters
        response = client.post(
            "/api/ai/requests/", json.dumps(body), content_type="application/json", HTTP_HOST=host
        )
    assert response.status_code == 202, response.content
    return AIRequest.objects.get(pk=response.json()["id"]).site_id


def site_selects(queries) -> int:
    return sum('FROM "wagtailcore_site"' in query["sql"] for query in queries.captured_queries)


@pytest.mark.django_db(transaction=True)  # outside a transaction, as served: memoized
def test_a_new_site_is_seen_by_the_very_next_question(client, sites):
    root, default = sites
    assert ask(client, "b.example") == default.pk  # no site for b.example: the default serves it
    other = Site.objects.create(
        hostname="b.example", port=80, root_page=HomePageFactory(parent=root, slug="b")
    )
    assert ask(client, "b.example") == other.pk


@pytest.mark.django_db(transaction=True)  # outside a transaction, as served: memoized
def test_a_changed_or_deleted_site_is_seen_by_the_very_next_question(client, sites):
    root, default = sites
    other = Site.objects.create(
        hostname="b.example", port=80, root_page=HomePageFactory(parent=root, slug="b")
    )
    assert ask(client, "b.example") == other.pk
    other.hostname = "c.example"
    other.save()
    assert ask(client, "b.example") == default.pk
    assert ask(client, "c.example") == other.pk
    other.delete()
    assert ask(client, "c.example") == default.pk


@pytest.mark.django_db(transaction=True)  # answers are kept only when read outside a transaction
def test_repeated_questions_read_the_site_once_until_another_process_changes_a_site(sites):
    _, default = sites
    with CaptureQueriesContext(connection) as first:
        assert site_id_for_host(hostname="a.example", port=80) == default.pk
    with CaptureQueriesContext(connection) as again:
        assert site_id_for_host(hostname="a.example", port=80) == default.pk
    assert (site_selects(first), site_selects(again)) == (1, 0)

    # Another web process saves the site: its row changes and its receiver replaces the version.
    Site.objects.filter(pk=default.pk).update(hostname="z.example", is_default_site=False)
    shared_redis().set(site_hosts._version_key(), "changed-elsewhere")
    assert site_id_for_host(hostname="a.example", port=80) is None
    assert site_id_for_host(hostname="z.example", port=80) == default.pk


@pytest.mark.django_db(transaction=True)
def test_a_flushed_redis_does_not_revive_an_old_memo(sites):
    _, default = sites
    assert site_id_for_host(hostname="a.example", port=80) == default.pk
    Site.objects.filter(pk=default.pk).update(hostname="z.example")  # no signal
    shared_redis().delete(site_hosts._version_key())  # Redis restarted empty
    assert site_id_for_host(hostname="a.example", port=80) == default.pk  # still the default site
    Site.objects.filter(pk=default.pk).update(is_default_site=False)
    shared_redis().delete(site_hosts._version_key())
    assert site_id_for_host(hostname="a.example", port=80) is None


def test_inside_a_transaction_the_answer_is_not_kept_since_it_may_be_rolled_back(sites):
    _, default = sites
    for _ in range(2):  # the test runs inside a transaction: each lookup reads the database
        with CaptureQueriesContext(connection) as queries:
            assert site_id_for_host(hostname="a.example", port=80) == default.pk
        assert site_selects(queries) == 1


def test_without_redis_the_site_comes_from_the_database(sites):
    root, default = sites
    broken = mock.Mock()
    broken.get.side_effect = redis.ConnectionError("down")
    broken.set.side_effect = redis.ConnectionError("down")
    with mock.patch.object(site_hosts, "shared_redis", return_value=broken):
        assert site_id_for_host(hostname="b.example", port=80) == default.pk
        other = Site.objects.create(
            hostname="b.example", port=80, root_page=HomePageFactory(parent=root, slug="b")
        )
        assert site_id_for_host(hostname="b.example", port=80) == other.pk
