"""Every admin endpoint of this project (found by walking the URL config) under abuse: hostile query
strings, unknown, huge and malformed ids, garbage and hostile form posts, no CSRF token, and people
who may not be there. Only 2xx/3xx/4xx, never a 500, and no payload comes back as live markup."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.urls import NoReverseMatch, reverse

from .endpoints import Endpoint, project_endpoints
from .payloads import HUGE_INT_TEXT, XSS_IMG, XSS_RAW, XSS_SCRIPT
from .probe import FORM, Prober, abuse_client

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]

ADMIN_ENDPOINTS = [e for e in project_endpoints() if e.is_admin]

# Query parameters the project's admin views read (search, filters, ordering, paging, the
# dashboard's date range and export), each given hostile values.
HOSTILE_QUERIES = [
    {"q": XSS_SCRIPT, "p": "-1", "page": "abc", "ordering": XSS_IMG, "o": "99.-5"},
    {"q": "\x00", "status": XSS_SCRIPT, "priority": "9" * 30, "reason": XSS_IMG, "prompt_key": XSS_SCRIPT},
    {"escalated": "maybe", "created_at__gte": "not-a-date", "tier": XSS_SCRIPT, "task": "\x00"},
    {"start": "0001-01-01", "end": "9999-12-31", "export": XSS_SCRIPT},
    {"start": "2024-13-45", "end": XSS_SCRIPT, "export": "usage"},
    {"start": "9999-12-31", "end": "0001-01-01", "export": "../../etc/passwd"},
    {"id": ["abc", "\u00b2", HUGE_INT_TEXT, "-1"], "action": XSS_SCRIPT, "next": "//evil.example/"},
    {"multiple": "1", "locale": XSS_SCRIPT, "_w_filter_fragment": "true", "for_user": XSS_SCRIPT},
]
RAW_QUERIES = ["%FF%FE=%FF%FE", "q=%FF%FE%00", "q=%ED%A0%80", "p=" + "9" * 400]

FIELDS = [
    "key", "version", "description", "tier", "model", "task", "review_policy", "max_tokens", "temperature",
    "variables", "system_variables", "labels", "system", "user", "golden", "daily_tokens", "note",
    "edited_text", "action", "id", "alert", "next", "include_descendants", "title", "q",
]  # fmt: skip
HOSTILE_FORMS: dict[str, dict | bytes] = {
    "XSS everywhere": {name: XSS_SCRIPT if i % 2 else XSS_IMG for i, name in enumerate(FIELDS)},
    "NUL everywhere": dict.fromkeys(FIELDS, "x\x00y"),
    "huge numbers": dict.fromkeys(FIELDS, HUGE_INT_TEXT),
    "negative and unicode digits": {name: "-1" if i % 2 else "\u00b2" for i, name in enumerate(FIELDS)},
    "lists of garbage": {name: ["1", "abc", "\u0661", "-5", XSS_SCRIPT] for name in FIELDS},
    "open redirect": {"next": "//evil.example/", "note": "ok", "action": "approve"},
    "header injection": {"next": "/admin/\r\nSet-Cookie: a=b", "note": "ok"},
    "raw invalid UTF-8": b"note=\xff\xfe&edited_text=%FF%FE&key=\xc3&next=%ED%A0%80",
    "empty": b"",
}


def _own_values(world) -> dict[str, str]:
    """A valid value for each URL argument name, pointing at the fixture's own objects."""
    prompt = world.prompt
    return {
        "page_id": str(world.article.pk),
        "document_id": str(world.document.pk),
        "answer_id": str(world.approved_answer.pk),
        "instance_pk": str(world.held.pk),
        "revision_id": str(prompt.latest_revision_id),
        "revision_id_a": "earliest",
        "revision_id_b": "latest",
    }


def _own_pk(world, endpoint: Endpoint) -> str:
    if "budgetoverride" in endpoint.name:
        return str(world.budget.pk)
    return str(world.prompt.pk)


def _paths(world, endpoint: Endpoint) -> list[tuple[str, str]]:
    """(label, path) for the endpoint's own object, an unknown one, a huge and a malformed id."""
    if not endpoint.kwargs:
        return [("no id", reverse(endpoint.name))]
    own = {**_own_values(world), "pk": _own_pk(world, endpoint)}
    missing = [name for name in endpoint.kwargs if name not in own]
    assert not missing, f"{endpoint.name}: no sample value for URL argument(s) {missing}; add one"
    variants = {
        "own id": own,
        "unknown id": {name: "999999" if not own[name].isalpha() else own[name] for name in endpoint.kwargs},
        "huge id": {
            name: HUGE_INT_TEXT if not own[name].isalpha() else own[name] for name in endpoint.kwargs
        },
        "malformed id": {
            name: "abc-def" if not own[name].isalpha() else own[name] for name in endpoint.kwargs
        },
    }
    paths = []
    for label, values in variants.items():
        try:
            paths.append((label, reverse(endpoint.name, kwargs={k: values[k] for k in endpoint.kwargs})))
        except NoReverseMatch:  # the converter refuses it: the resolver answers 404 before any view
            prefix = endpoint.route.split("<")[0].split("(")[0].replace("^", "")
            paths.append((label, f"/{prefix}abc-def/"))
    return paths


def _check_no_live_markup(probe: Prober, response, where: str) -> None:
    body = response.content.decode(errors="replace")
    for raw in XSS_RAW.values():
        if raw in body:
            probe.fail(f"{where}: the payload came back as live markup ({raw!r})")
    location = response.get("Location", "")
    if "evil.example" in location:
        probe.fail(f"{where}: redirects off-site to {location}")


@pytest.mark.parametrize("endpoint", ADMIN_ENDPOINTS, ids=lambda e: e.name)
def test_admin_endpoint_survives_hostile_input(world, endpoint):
    probe = Prober(endpoint.name)
    paths = _paths(world, endpoint)
    # People who may not be there: never a 200 with admin content, never a 500.
    for who, client in [("anonymous", abuse_client()), ("visitor account", world.user_a)]:
        for label, path in paths[:2]:
            response = probe.send(client, "GET", path, label=f"{who}, {label}")
            if response.status_code == 200:
                probe.fail(f"{who}, {label}: GET {path} answered 200 to someone without admin access")
            probe.send(client, "POST", path, data=urlencode({"note": "x", "action": "approve"}), content_type=FORM,
                       label=f"{who}, POST, {label}", expect=[302, 403, 404, 405])  # fmt: skip
    staff = [("admin", world.admin)] + ([("reviewer", world.reviewer)] if "review" in endpoint.name else [])
    for who, client in staff:
        for label, path in paths:
            probe.send(client, "GET", path, label=f"{who}, {label}")
            probe.send(client, "GET", path, label=f"{who}, {label}, raw query", QUERY_STRING=RAW_QUERIES[0])
            if label not in ("own id", "no id"):
                continue  # the rest only matters where the view gets as far as reading the query
            for query in HOSTILE_QUERIES:
                response = probe.send(client, "GET", f"{path}?{urlencode(query, doseq=True)}",
                                      label=f"{who}, {label}, hostile query")  # fmt: skip
                _check_no_live_markup(probe, response, f"{who} GET {path} {query}")
            for raw in RAW_QUERIES:
                probe.send(client, "GET", path, label=f"{who}, {label}, raw query {raw}", QUERY_STRING=raw)
            probe.send(client, "GET", path, label=f"{who}, {label}, raw bytes in query",
                       QUERY_STRING="q=\u00ff\u00fe")  # fmt: skip
    # Posts last: some of them (delete, approve, unpublish) legitimately change the object.
    strict = abuse_client(enforce_csrf_checks=True)
    strict.force_login(_admin_user())
    for label, path in paths:
        probe.send(strict, "POST", path, data=urlencode({"note": "x"}), content_type=FORM,
                   label=f"admin without CSRF token, {label}", expect=[403, 404, 405])  # fmt: skip
    for label, path in reversed(paths):  # the own id last
        for form_label, data in HOSTILE_FORMS.items():
            body = data if isinstance(data, bytes) else urlencode(data, doseq=True)
            response = probe.send(world.admin, "POST", path, data=body, content_type=FORM,
                                  label=f"admin, {label}, {form_label}")  # fmt: skip
            _check_no_live_markup(probe, response, f"admin POST {path} {form_label}")
        probe.send(world.admin, "POST", path, data=b"--x\r\n\xff--x--", content_type="multipart/form-data; boundary=x",
                   label=f"admin, {label}, multipart garbage")  # fmt: skip
        probe.send(world.admin, "POST", path, data=b'{"note": [', content_type="application/json",
                   label=f"admin, {label}, JSON")  # fmt: skip
        for method in ["PUT", "DELETE"]:
            probe.send(world.admin, method, path, label=f"admin, {label}, {method}")
    probe.check()


def _admin_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="root")
