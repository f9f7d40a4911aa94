"""The no-JavaScript /ask/ form and its result page under abuse: bad form input gets the form back
with a message (4xx), another visitor's or an unknown id is 404, and nothing crashes."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings

from ai_core.models import AIRequest

from .conftest import row_counts
from .payloads import MALFORMED_IDS, UNKNOWN_UUID, XSS_ESCAPED, XSS_PAYLOADS, XSS_RAW
from .probe import FORM, Prober, abuse_client, assert_escaped

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]

ASK = "/ask/"


def form(**fields) -> str:
    return urlencode(fields)


BAD_FORMS: dict[str, str | bytes] = {
    "empty": b"",
    "blank question": form(question="   "),
    "question too long": form(question="x" * 1001),
    "NUL in question": form(question="refunds\x00?"),
    "page scope, letters": form(question="Refunds?", scope="page", page_id="abc"),
    "page scope, superscript digit": form(question="Refunds?", scope="page", page_id="\u00b2"),
    "page scope, Arabic-Indic digits": form(question="Refunds?", scope="page", page_id="\u0661\u0662"),
    "page scope, huge id": form(question="Refunds?", scope="page", page_id="9" * 30),
    "page scope, 2**31": form(question="Refunds?", scope="page", page_id=str(2**31)),
    "page scope, zero": form(question="Refunds?", scope="page", page_id="0"),
    "page scope, negative": form(question="Refunds?", scope="page", page_id="-1"),
    "JSON body": b'{"question": "Refunds?"}',
    "too many fields": "&".join(f"f{i}=x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)),
}


def test_bad_form_input_gets_the_form_back_with_a_4xx_and_nothing_is_stored(world):
    probe = Prober("ask")
    for client in (world.anon_a, world.user_a):
        for label, body in BAD_FORMS.items():
            content_type = "application/json" if label == "JSON body" else FORM
            before = row_counts()
            response = probe.send(client, "POST", ASK, data=body, content_type=content_type, label=label)
            if not 400 <= response.status_code < 500:
                probe.fail(f"{label}: {response.status_code}, expected a 4xx")
            if row_counts() != before:
                probe.fail(f"{label}: rows changed")
    huge = form(question="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10))
    probe.send(world.anon_a, "POST", ASK, data=huge, content_type=FORM, label="body over DATA_UPLOAD_MAX_MEMORY_SIZE",
               expect=[400, 413])  # fmt: skip
    probe.send(world.anon_a, "POST", ASK, data=b"--x\r\n\xff--x--", content_type="multipart/form-data; boundary=x",
               label="multipart garbage", expect=[400])  # fmt: skip
    probe.send(world.anon_a, "POST", ASK, data=b"--x", content_type="multipart/form-data", label="no boundary",
               expect=[400])  # fmt: skip
    for method in ["PUT", "PATCH", "DELETE"]:
        probe.send(world.anon_a, method, ASK, label="wrong method", expect=[405])
    strict = abuse_client(enforce_csrf_checks=True)
    probe.send(strict, "POST", ASK, data=form(question="Refunds?"), content_type=FORM, label="missing CSRF",
               expect=[403])  # fmt: skip
    probe.check()


def test_invalid_utf8_in_the_form_and_query_is_replaced_not_a_crash(world):
    probe = Prober("ask")
    response = probe.send(world.anon_a, "POST", ASK, data=b"question=%FF%FEcaf%C3", content_type=FORM,
                          label="invalid UTF-8 form field", expect=[302, 400])  # fmt: skip
    if response.status_code == 302:
        question = AIRequest.objects.latest("created_at").payload["question"]
        assert question.startswith("\ufffd")  # undecodable bytes became U+FFFD, the rest was kept
    probe.send(world.anon_a, "POST", ASK, data=b"question=\xff\xfe refunds", content_type=FORM,
               label="raw invalid UTF-8 bytes", expect=[302, 400])  # fmt: skip
    probe.send(world.anon_a, "POST", ASK, data=form(question="Refunds?"), content_type=f"{FORM}; charset=no-such",
               label="unknown charset", expect=[302, 400])  # fmt: skip
    probe.send(
        world.anon_a, "GET", ASK, label="invalid UTF-8 query", expect=[200], QUERY_STRING="q=%FF%FE&%FF=1"
    )
    probe.check()


def test_an_xss_question_is_stored_verbatim_and_the_form_error_echo_is_escaped(world):
    probe = Prober("ask")
    for payload in XSS_PAYLOADS:
        # Too long: the form comes back with the question echoed in its error context.
        response = probe.send(world.anon_a, "POST", ASK, data=form(question=payload + "x" * 1001),
                              content_type=FORM, label="XSS in a refused question", expect=[400])  # fmt: skip
        assert_escaped(response.content.decode(), where="/ask/ error", raw=[XSS_RAW[payload]], escaped=[])
        response = probe.send(world.anon_a, "POST", ASK, data=form(question=payload), content_type=FORM,
                              label="XSS question", expect=[302])  # fmt: skip
        if response.status_code == 302:
            result = probe.send(world.anon_a, "GET", response["Location"], label="result page", expect=[200])
            assert_escaped(result.content.decode(), where="/ask/r/ question", raw=[XSS_RAW[payload]],
                           escaped=[XSS_ESCAPED[payload]])  # fmt: skip
            assert AIRequest.objects.latest("created_at").payload == {"question": payload}
    probe.check()


def test_the_result_page_is_404_for_unknown_malformed_and_other_peoples_ids(world):
    probe = Prober("ask_result")
    cases = [
        (world.anon_b, world.request_anon_a.pk, "visitor B -> visitor A's answer"),
        (world.user_a, world.request_b.pk, "user A -> user B's answer"),
        (world.user_b, world.request_anon_a.pk, "user B -> visitor A's answer"),
        (abuse_client(), world.request_a.pk, "no session -> user A's answer"),
        (world.user_a, world.held.ai_request_id, "user A -> user B's held answer"),
        (world.user_a, world.summary.pk, "user A -> a page summary request"),
        (world.anon_a, UNKNOWN_UUID, "unknown uuid"),
    ]
    for client, pk, label in cases:
        response = probe.send(client, "GET", f"/ask/r/{pk}/", label=label, expect=[404])
        if "Refunds are paid" in response.content.decode():
            probe.fail(f"{label}: the 404 page shows the answer")
    for bad in MALFORMED_IDS:
        probe.send(world.anon_a, "GET", f"/ask/r/{bad}/", label="malformed id", expect=[404])
    own = f"/ask/r/{world.request_anon_a.pk}/"
    probe.send(world.anon_a, "GET", own, label="own answer", expect=[200])
    probe.send(world.anon_a, "GET", own, label="own answer, hostile query", expect=[200],
               QUERY_STRING="%FF=%FE&refresh=%3Cscript%3E")  # fmt: skip
    for method in ["POST", "PUT", "DELETE"]:
        probe.send(world.anon_a, method, own, data=b"x=1", content_type=FORM, label="other method",
                   expect=[200, 403, 405])  # fmt: skip
    probe.check()
