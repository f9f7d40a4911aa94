"""AI_CORE["REQUEST_SCOPE"]: the site's rule for where a question is asked from, plugged into
ai_core's API by a dotted path (ai_core imports no site code), and refused by a system check when
it names nothing callable."""

import json
from types import SimpleNamespace

import pytest

from ai_core.api.checks import check_request_scope
from ai_core.models import AIRequest
from ai_core.services import ScopeRejected

pytestmark = pytest.mark.django_db

SUBMIT = "/api/ai/requests/"
HERE = __name__
NOT_CALLABLE = 42


def scoped_to_site_seven(*, request, page_id=None):
    if page_id == 999:
        raise ScopeRejected(page_id)
    return SimpleNamespace(site_id=7, locale="fr")


def ask(client, **extra):
    body = {"prompt_key": "rag_answer", "payload": {"question": "Refunds?"}, **extra}
    return client.post(SUBMIT, json.dumps(body), content_type="application/json")


def test_the_configured_resolver_scopes_each_request_and_can_refuse_a_page(client, settings):
    settings.AI_CORE = {**settings.AI_CORE, "REQUEST_SCOPE": f"{HERE}.scoped_to_site_seven"}
    assert ask(client).status_code == 202
    assert AIRequest.objects.values_list("site_id", "locale").get() == (7, "fr")

    refused = ask(client, page_id=999)
    assert refused.status_code == 404
    assert refused.json()["error"] == {
        "code": "unknown_page",
        "message": "No such page on this site.",
        "fields": ["page_id"],
    }
    assert AIRequest.objects.count() == 1


def test_without_a_resolver_requests_belong_to_no_site(client, settings):
    settings.AI_CORE = {k: v for k, v in settings.AI_CORE.items() if k != "REQUEST_SCOPE"}
    assert ask(client).status_code == 202
    assert AIRequest.objects.values_list("site_id", "locale").get() == (None, "")


@pytest.mark.parametrize(
    ("value", "mentions"),
    [
        ("content.no_such_module.resolve", "cannot be imported"),
        (f"{HERE}.NOT_CALLABLE", "is not callable"),
        (["content.visibility.ask_scope_resolve"], "must be a dotted path"),
    ],
)
def test_a_resolver_that_names_nothing_callable_fails_the_system_check(settings, value, mentions):
    settings.AI_CORE = {**settings.AI_CORE, "REQUEST_SCOPE": value}
    (error,) = check_request_scope()
    assert error.id == "ai_core.E006" and mentions in error.msg


def test_the_sites_resolver_passes_the_system_check():
    assert check_request_scope() == []
