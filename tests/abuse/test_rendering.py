"""Hostile text that is accepted is stored verbatim and shown as text wherever it is rendered: the
visitor's result page, the article's summary, the review queue, the page editor's AI tab, the JSON
API. Prompt injection in a question cannot make an answer reveal the system prompt."""

from __future__ import annotations

import json

import pytest

from ai_core.models import AIRequest
from ai_core.prompts.registry import get_prompt
from review import rules
from review.services import review_item_create

from .payloads import PROMPT_INJECTION, XSS_ESCAPED, XSS_IMG, XSS_RAW, XSS_SCRIPT, json_bytes
from .probe import FORM, Prober, assert_escaped

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]

HOSTILE_TEXT = f"Refunds take 10 days [1]. {XSS_SCRIPT}\n- {XSS_IMG} [1]"
HOSTILE_CITATIONS = [{"number": 1, "chunk_id": "", "title": XSS_SCRIPT, "url": "/guides/refunds/"}]
RAW = list(XSS_RAW.values())
ESCAPED = list(XSS_ESCAPED.values())


def _hostile(request: AIRequest, **changes) -> AIRequest:
    for name, value in {"result": HOSTILE_TEXT, "citations": HOSTILE_CITATIONS, **changes}.items():
        setattr(request, name, value)
    request.save()
    return request


def test_hostile_answer_question_and_source_title_render_as_text_for_the_visitor(world):
    probe = Prober("ask_result")
    _hostile(world.request_anon_a, payload={"question": XSS_IMG})
    html = probe.send(world.anon_a, "GET", f"/ask/r/{world.request_anon_a.pk}/", label="own", expect=[200])
    probe.check()
    assert_escaped(
        html.content.decode(), where="/ask/r/ answer, question and sources", raw=RAW, escaped=ESCAPED
    )
    api = Prober("ai_api:request_detail")
    body = api.send(
        world.anon_a, "GET", f"/api/ai/requests/{world.request_anon_a.pk}/", label="own", expect=[200]
    )
    api.check()
    assert body.json()["result"] == HOSTILE_TEXT  # verbatim: escaping is the renderer's job
    assert body["X-Content-Type-Options"] == "nosniff"


def test_a_hostile_page_summary_renders_as_text_on_the_page_and_in_the_editor(world):
    _hostile(world.summary)
    page = Prober("wagtail_serve")
    html = page.send(world.anon_a, "GET", world.article.url, label="article", expect=[200]).content.decode()
    page.check()
    assert_escaped(html, where="article page summary", raw=RAW, escaped=[XSS_ESCAPED[XSS_SCRIPT]])
    editor = Prober("wagtailadmin_pages:edit")
    response = editor.send(
        world.admin, "GET", f"/admin/pages/{world.article.pk}/edit/", label="AI tab", expect=[200]
    )
    editor.check()
    assert_escaped(response.content.decode(), where="page editor AI tab", raw=RAW, escaped=ESCAPED)


def test_hostile_output_question_and_notes_render_as_text_in_the_review_queue(world):
    from .conftest import _done_request

    held = _done_request(user=world.request_b.user, payload={"question": XSS_SCRIPT})
    _hostile(held, status=AIRequest.Status.AWAITING_REVIEW)
    item = review_item_create(ai_request=held, reasons=[rules.PROFESSIONAL_REFERRAL])
    probe = Prober("review_reviewitem_modeladmin_inspect")
    base = "/admin/review/reviewitem"
    for path in [f"{base}/", f"{base}/?q={XSS_SCRIPT}", f"{base}/inspect/{item.pk}/",
                 f"{base}/approve_with_edits/{item.pk}/"]:  # fmt: skip
        html = probe.send(world.reviewer, "GET", path, label="reviewer", expect=[200]).content.decode()
        assert_escaped(html, where=f"review {path}", raw=RAW, escaped=[])
    edited = f"Fixed [1]. {XSS_IMG}"
    probe.send(world.reviewer, "POST", f"{base}/approve_with_edits/{item.pk}/",
               data=f"edited_text={edited}&note={XSS_SCRIPT}".replace("+", "%2B"), content_type=FORM,
               label="approve with hostile edits and note", expect=[302])  # fmt: skip
    item.refresh_from_db()
    assert (item.edited_text, item.decision_note) == (edited, XSS_SCRIPT)
    for path in [f"{base}/inspect/{item.pk}/", f"{base}/history/{item.pk}/"]:
        html = probe.send(
            world.reviewer, "GET", path, label="after the decision", expect=[200]
        ).content.decode()
        assert_escaped(html, where=f"review {path}", raw=RAW, escaped=[])
    visitor = probe.send(
        world.user_b, "GET", f"/ask/r/{held.pk}/", label="visitor sees the edit", expect=[200]
    )
    probe.check()
    assert_escaped(visitor.content.decode(), where="approved edit on /ask/r/", raw=RAW,
                   escaped=[XSS_ESCAPED[XSS_IMG]])  # fmt: skip


def test_an_xss_question_runs_on_the_local_provider_and_its_page_stays_escaped(
    world, django_capture_on_commit_callbacks
):
    probe = Prober("ai_api:ask")
    with django_capture_on_commit_callbacks(execute=True):
        response = probe.send(world.anon_a, "POST", "/api/ai/ask/", data=json_bytes({"question": XSS_SCRIPT}),
                              label="XSS question", expect=[202])  # fmt: skip
    probe.check()
    request = AIRequest.objects.get(pk=response.json()["id"])
    assert request.payload == {"question": XSS_SCRIPT}
    assert request.status in {AIRequest.Status.DONE, AIRequest.Status.AWAITING_REVIEW}, request.error
    page = Prober("ask_result")
    html = page.send(
        world.anon_a, "GET", f"/ask/r/{request.pk}/", label="result", expect=[200]
    ).content.decode()
    page.check()
    assert_escaped(html, where="/ask/r/ after processing", raw=RAW, escaped=[XSS_ESCAPED[XSS_SCRIPT]])


def test_prompt_injection_in_a_question_does_not_reveal_the_system_prompt(
    world, django_capture_on_commit_callbacks
):
    system_lines = [
        line.strip() for line in get_prompt("rag_answer").system.splitlines() if len(line.strip()) > 20
    ]
    assert system_lines  # the check below would pass vacuously without them
    probe = Prober("ai_api:ask")
    for client in (world.anon_a, world.user_a):
        with django_capture_on_commit_callbacks(execute=True):
            response = probe.send(client, "POST", "/api/ai/ask/", data=json_bytes({"question": PROMPT_INJECTION}),
                                  label="prompt injection", expect=[202])  # fmt: skip
        request = AIRequest.objects.get(pk=response.json()["id"])
        assert request.payload == {"question": PROMPT_INJECTION}
        assert request.status in {AIRequest.Status.DONE, AIRequest.Status.AWAITING_REVIEW}, request.error
        poll = probe.send(client, "GET", f"/api/ai/requests/{request.pk}/", label="poll", expect=[200]).json()
        shown = json.dumps(poll) + request.result
        leaked = [line for line in system_lines if line in shown]
        assert not leaked, f"the answer reveals the system prompt: {leaked}"
        assert "PWNED" not in (request.result or "")
    probe.check()
