"""The JSON API under abuse: every bad body, type, size, id, method and missing CSRF token gets a
4xx with a JSON ``error`` message, never a 500, and nothing is stored for a rejected request."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from ai_core import conf
from ai_core.models import AIFeedback, AIRequest

from .conftest import row_counts
from .payloads import (
    HUGE_INT,
    MALFORMED_IDS,
    MALFORMED_JSON,
    PROMPT_INJECTION,
    UNKNOWN_UUID,
    WRONG_TYPES,
    XSS_PAYLOADS,
    json_bytes,
)
from .probe import FORM, JSON, Prober, abuse_client

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]

ASK = "/api/ai/ask/"
SUBMIT = "/api/ai/requests/"
WRONG_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


def detail(request_id) -> str:
    return f"/api/ai/requests/{request_id}/"


def send_rejected(probe: Prober, client: Client, method: str, path: str, body: bytes, label: str, **kw):
    """A body that must be refused: a 4xx with a JSON error, and no row written anywhere."""
    before = row_counts()
    response = probe.send(client, method, path, data=body, label=label, json_error=True, **kw)
    if response.status_code < 400:
        probe.fail(f"{label}: {method} {path} accepted ({response.status_code}) a body it must refuse")
    after = row_counts()
    if after != before:
        probe.fail(f"{label}: rows changed on a rejected request: {before} -> {after}")
    return response


def body_abuse(probe: Prober, client: Client, path: str) -> None:
    """Malformed JSON, invalid encodings and oversized bodies, for one POST endpoint."""
    for name, body in MALFORMED_JSON.items():
        send_rejected(probe, client, "POST", path, body, f"malformed JSON ({name})")
    limit = conf.setting("MAX_PAYLOAD_BYTES")
    big = b'{"question": "' + b"a" * limit + b'"}'
    response = send_rejected(probe, client, "POST", path, big, "body over AI_MAX_PAYLOAD_BYTES")
    if response.status_code != 413:
        probe.fail(f"body over AI_MAX_PAYLOAD_BYTES: {response.status_code}, expected 413")
    huge = b'{"question": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024) + b'"}'
    response = send_rejected(probe, client, "POST", path, huge, "body over DATA_UPLOAD_MAX_MEMORY_SIZE")
    if response.status_code != 413:
        probe.fail(f"body over DATA_UPLOAD_MAX_MEMORY_SIZE: {response.status_code}, expected 413")
    send_rejected(
        probe, client, "POST", path, b"question=%FF%FE", "form-encoded invalid UTF-8", content_type=FORM
    )
    send_rejected(
        probe, client, "POST", path, b"--x\r\n\xff\xfe--x--", "multipart garbage",
        content_type="multipart/form-data; boundary=x",
    )  # fmt: skip


def method_and_csrf_abuse(probe: Prober, client: Client, path: str, *, allowed: str) -> None:
    for method in WRONG_METHODS + ["POST"]:
        if method == allowed:
            continue
        probe.send(client, method, path, data=b"{}", label="wrong method", expect=[405])
    probe.send(client, "OPTIONS", path, label="OPTIONS", expect=[200, 405])
    probe.send(client, "HEAD", path, label="HEAD", expect=[200, 404, 405])


def no_csrf(probe: Prober, login, path: str, body: bytes) -> None:
    strict = abuse_client(enforce_csrf_checks=True)
    if login is not None:
        strict.force_login(login)
    before = row_counts()
    probe.send(strict, "POST", path, data=body, label="missing CSRF token", expect=[403], json_error=True)
    if row_counts() != before:
        probe.fail(f"missing CSRF token: rows changed on {path}")


def test_ask_refuses_every_malformed_body_type_and_size(world):
    probe = Prober("ai_api:ask")
    for client in (world.anon_a, world.user_a):
        body_abuse(probe, client, ASK)
        for name, value in WRONG_TYPES.items():
            send_rejected(probe, client, "POST", ASK, json_bytes({"question": value}), f"question as {name}")
            if name not in (
                "null",
                "int",
            ):  # a positive int is a page id (unknown ones answer "I don't know")
                send_rejected(
                    probe, client, "POST", ASK, json_bytes({"question": "Refunds?", "page_id": value}),
                    f"page_id as {name}",
                )  # fmt: skip
        send_rejected(probe, client, "POST", ASK, json_bytes({"page_id": 1}), "missing question")
        send_rejected(probe, client, "POST", ASK, json_bytes({"question": "x" * 20_000}), "question too long")
    method_and_csrf_abuse(probe, world.anon_a, ASK, allowed="POST")
    no_csrf(probe, None, ASK, json_bytes({"question": "Refunds?"}))
    probe.check()


def test_ask_stores_xss_and_injection_questions_verbatim_or_refuses_them(world):
    probe = Prober("ai_api:ask")
    for question in [*XSS_PAYLOADS, PROMPT_INJECTION, "caf\u00e9 \u202e\u200b refunds?"]:
        response = probe.send(
            world.user_a,
            "POST",
            ASK,
            data=json_bytes({"question": question}),
            label="text payload",
            expect=[202],
        )
        if response.status_code == 202:
            stored = AIRequest.objects.get(pk=response.json()["id"]).payload
            if stored != {"question": question}:
                probe.fail(f"question stored altered: {stored!r} != {question!r}")
    response = probe.send(
        world.user_a, "POST", ASK, data=json_bytes({"question": "Refunds?", "page_id": 999_999}),
        label="unknown page_id", expect=[202, 400, 404],
    )  # fmt: skip
    probe.check()


def test_submit_refuses_every_malformed_body_type_and_size(world):
    probe = Prober("ai_api:request_create")
    for client in (world.user_a, world.anon_a):
        body_abuse(probe, client, SUBMIT)
    valid = {"prompt_key": "content_classify", "payload": {"text": "Invoices"}}
    for name, value in WRONG_TYPES.items():
        for field_name in ("prompt_key", "payload", "page_id"):
            if field_name == "page_id" and value in (None, 7):
                continue
            send_rejected(
                probe, world.user_a, "POST", SUBMIT, json_bytes({**valid, field_name: value}),
                f"{field_name} as {name}",
            )  # fmt: skip
        if name not in ("int", "negative int", "huge int", "float", "empty string", "whitespace"):  # as text
            send_rejected(
                probe, world.user_a, "POST", SUBMIT, json_bytes({**valid, "payload": {"text": value}}),
                f"payload.text as {name}",
            )  # fmt: skip
    for key in ["../../etc/passwd", "rag_answer\u0000", "x" * 5000, *XSS_PAYLOADS]:
        response = send_rejected(
            probe,
            world.user_a,
            "POST",
            SUBMIT,
            json_bytes({**valid, "prompt_key": key}),
            "unknown prompt_key",
        )
        if response["Content-Type"] != JSON or response.get("X-Content-Type-Options") != "nosniff":
            probe.fail("an error echoing the prompt_key could be sniffed as HTML by a browser")
    method_and_csrf_abuse(probe, world.user_a, SUBMIT, allowed="POST")
    no_csrf(probe, None, SUBMIT, json_bytes(valid))
    probe.check()


def test_submit_with_extra_payload_fields_stores_only_declared_ones(world):
    probe = Prober("ai_api:request_create")
    body = {"prompt_key": "content_classify", "payload": {"text": "Invoices", "system": PROMPT_INJECTION}}
    response = probe.send(
        world.user_a, "POST", SUBMIT, data=json_bytes(body), label="extra fields", expect=[202]
    )
    probe.check()
    assert AIRequest.objects.get(pk=response.json()["id"]).payload == {"text": "Invoices"}


@pytest.mark.parametrize("suffix", ["", "stream/", "cancel/", "feedback/"])
def test_unknown_malformed_and_other_peoples_ids_are_404(world, suffix):
    """User A vs user B, visitor A vs visitor B, anyone vs a held output: all 404, nothing changes."""
    name = {"": "request_detail", "stream/": "request_stream", "cancel/": "request_cancel"}.get(
        suffix, "request_feedback"
    )
    probe = Prober(f"ai_api:{name}")
    method = "GET" if suffix in ("", "stream/") else "POST"
    body = json_bytes({"vote": "up"}) if suffix == "feedback/" else b""
    cases = [
        (world.user_a, world.request_b.pk, "user A -> user B's request"),
        (world.user_b, world.request_a.pk, "user B -> user A's request"),
        (world.user_a, world.request_anon_a.pk, "user A -> visitor A's request"),
        (world.anon_b, world.request_anon_a.pk, "visitor B -> visitor A's request"),
        (world.anon_a, world.request_a.pk, "visitor A -> user A's request"),
        (abuse_client(), world.request_anon_a.pk, "no session -> visitor A's request"),
        (world.user_a, world.held.ai_request_id, "user A -> user B's held output"),
        (world.user_a, UNKNOWN_UUID, "unknown uuid"),
        (world.anon_a, UNKNOWN_UUID, "unknown uuid, anonymous"),
    ]
    before = row_counts()
    statuses = {
        pk: AIRequest.objects.get(pk=pk).status for pk in AIRequest.objects.values_list("pk", flat=True)
    }
    for client, pk, label in cases:
        probe.send(
            client, method, f"{detail(pk)}{suffix}", data=body, label=label, expect=[404], json_error=True
        )
    for bad in MALFORMED_IDS:
        probe.send(world.user_a, method, f"/api/ai/requests/{bad}/{suffix}", data=body, label="malformed id",
                   expect=[404])  # fmt: skip
    probe.check()
    assert row_counts() == before
    assert statuses == {pk: AIRequest.objects.get(pk=pk).status for pk in statuses}


def test_detail_and_stream_ignore_abusive_query_strings_and_headers(world):
    probe = Prober("ai_api:request_detail")
    own = detail(world.request_a.pk)
    for qs in [
        "%FF%FE=%FF",
        "format=%3Cscript%3E",
        "id=" + UNKNOWN_UUID,
        "page=-1&page=99999999999999999999",
    ]:
        probe.send(world.user_a, "GET", own, label=f"query {qs}", expect=[200], QUERY_STRING=qs)
    method_and_csrf_abuse(probe, world.user_a, own, allowed="GET")
    probe.check()

    stream = Prober("ai_api:request_stream")
    url = f"{own}stream/"
    for last_id in ["abc", "1-0; DROP", "9" * 100, "\u00ff\u00fe", "<script>", "-", "--"]:
        stream.send(world.user_a, "GET", url, label=f"Last-Event-ID {last_id!r}", expect=[200, 400],
                    HTTP_LAST_EVENT_ID=last_id)  # fmt: skip
    for qs in ["last_event_id=%FF%FE", "last_event_id=%3Cscript%3E", "last_event_id=" + "1" * 100]:
        response = stream.send(world.user_a, "GET", url, label=f"query {qs}", expect=[400], QUERY_STRING=qs)
        if response.status_code == 400 and "<script>" in response.content.decode():
            stream.fail("the stream's 400 echoes the raw Last-Event-ID")
    method_and_csrf_abuse(stream, world.user_a, url, allowed="GET")
    stream.check()


def test_feedback_refuses_bad_votes_and_comments_and_keeps_a_good_one_verbatim(world):
    probe = Prober("ai_api:request_feedback")
    url = f"{detail(world.request_a.pk)}feedback/"
    body_abuse(probe, world.user_a, url)
    for name, value in WRONG_TYPES.items():
        send_rejected(probe, world.user_a, "POST", url, json_bytes({"vote": value}), f"vote as {name}")
        if name not in ("null", "empty string", "whitespace"):
            send_rejected(probe, world.user_a, "POST", url, json_bytes({"vote": "up", "comment": value}),
                          f"comment as {name}")  # fmt: skip
    send_rejected(
        probe, world.user_a, "POST", url, json_bytes({"vote": "up", "comment": "x" * 1001}), "long comment"
    )
    send_rejected(probe, world.user_a, "POST", url, json_bytes({"vote": "<script>"}), "XSS vote")
    # A page summary anyone may rate, and a held output nobody but a reviewer has seen.
    summary_url = f"{detail(world.summary.pk)}feedback/"
    send_rejected(
        probe, world.anon_b, "POST", summary_url, json_bytes({"vote": "sideways"}), "bad vote on summary"
    )
    for xss in XSS_PAYLOADS:
        response = probe.send(world.user_a, "POST", url, data=json_bytes({"vote": "down", "comment": xss}),
                              label="XSS comment", expect=[200])  # fmt: skip
        if response.status_code == 200 and AIFeedback.objects.get(request=world.request_a).comment != xss:
            probe.fail("the XSS comment was not stored verbatim")
    method_and_csrf_abuse(probe, world.user_a, url, allowed="POST")
    no_csrf(probe, None, f"{detail(world.request_anon_a.pk)}feedback/", json_bytes({"vote": "up"}))
    probe.check()
    assert AIFeedback.objects.filter(request=world.summary).count() == 0


def test_cancel_of_a_finished_request_changes_nothing_and_body_is_ignored(world):
    probe = Prober("ai_api:request_cancel")
    url = f"{detail(world.request_a.pk)}cancel/"
    for name, body in MALFORMED_JSON.items():
        probe.send(world.user_a, "POST", url, data=body, label=f"body {name}", expect=[202, 400, 409])
    method_and_csrf_abuse(probe, world.user_a, url, allowed="POST")
    no_csrf(probe, world.request_a.user, url, b"")
    probe.check()
    world.request_a.refresh_from_db()
    assert world.request_a.status == AIRequest.Status.DONE
    assert world.request_a.result == "Refunds are paid within 10 working days [1]."


def test_csrf_and_healthz_only_answer_get(world):
    for endpoint, path in [("ai_api:csrf", "/api/ai/csrf/"), ("healthz", "/healthz")]:
        probe = Prober(endpoint)
        probe.send(world.anon_a, "GET", path, label="GET with garbage query", expect=[200, 503],
                   QUERY_STRING="%FF%FE=%3Cscript%3E")  # fmt: skip
        probe.send(world.anon_a, "GET", path, data=MALFORMED_JSON["deeply nested arrays"], label="GET with body",
                   expect=[200, 503])  # fmt: skip
        method_and_csrf_abuse(probe, world.anon_a, path, allowed="GET")
        probe.check()


def test_huge_ints_never_reach_the_database(world):
    probe = Prober("ai_api:ask")
    for value in [HUGE_INT, 2**31, 2**63, -(2**63)]:
        send_rejected(probe, world.user_a, "POST", ASK, json_bytes({"question": "Refunds?", "page_id": value}),
                      f"page_id {value}")  # fmt: skip
    probe.check()
