"""The site a question is asked from is the site Wagtail would serve the request from.

``site_id_for_host`` re-implements Wagtail's ``get_site_for_hostname`` over plain columns (the
submit path runs it for every question); here both answer the same for every host and port of a
set of site configurations, including the fallbacks to the default site.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from wagtail.models import Page, Site
from wagtail.models.sites import get_site_for_hostname

from content.visibility import ask_scope_resolve, site_id_for_host
from tests.content.factories import HomePageFactory

pytestmark = pytest.mark.django_db

PROBES = [
    ("a.example", 80),
    ("a.example", 8080),
    ("a.example", 9999),
    ("b.example", 80),
    ("b.example", 443),
    ("c.example", 80),
    ("unknown.example", 80),
]

# (hostname, port, is_default) per site
CONFIGURATIONS = {
    "one default site": [("a.example", 80, True)],
    "default and another host": [("a.example", 80, True), ("b.example", 80, False)],
    "one host on two ports": [("a.example", 80, True), ("a.example", 8080, False)],
    "no default site": [("a.example", 80, False), ("b.example", 80, False)],
    "no default, one host on two ports": [("b.example", 80, False), ("b.example", 443, False)],
    "default elsewhere, one host on two ports": [
        ("c.example", 80, True),
        ("b.example", 80, False),
        ("b.example", 443, False),
    ],
}


def wagtail_answer(hostname: str, port: int) -> int | None:
    try:
        return get_site_for_hostname(hostname, port).pk
    except Site.DoesNotExist:
        return None


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_the_same_site_as_wagtail_for_every_host_and_port(name):
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    Site.objects.all().delete()
    for n, (hostname, port, is_default) in enumerate(CONFIGURATIONS[name]):
        home = HomePageFactory(parent=root, title=f"Home {n}", slug=f"home-{n}")
        Site.objects.create(hostname=hostname, port=port, is_default_site=is_default, root_page=home)
    for hostname, port in PROBES:
        assert site_id_for_host(hostname=hostname, port=port) == wagtail_answer(hostname, port), (
            hostname,
            port,
        )
        assert site_id_for_host(hostname=hostname, port=str(port)) == wagtail_answer(hostname, port)


def test_a_request_is_scoped_to_the_site_of_its_host_and_port(settings):
    settings.ALLOWED_HOSTS = ["*"]
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    Site.objects.all().delete()
    default = Site.objects.create(
        hostname="a.example", port=80, is_default_site=True, root_page=HomePageFactory(parent=root, slug="a")
    )
    other = Site.objects.create(
        hostname="b.example", port=8000, root_page=HomePageFactory(parent=root, slug="b")
    )
    factory = RequestFactory()
    assert ask_scope_resolve(request=factory.get("/", HTTP_HOST="b.example:8000")).site_id == other.pk
    assert ask_scope_resolve(request=factory.get("/", HTTP_HOST="unknown.example")).site_id == default.pk
