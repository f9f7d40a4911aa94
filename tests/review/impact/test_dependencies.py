"""The page editor's AI tab lists what depends on the page: approved answers, the page summary and
outputs awaiting review citing its blocks, and which blocks each one cites."""

from __future__ import annotations

import re

import pytest
from wagtail.models import Site

from ai_core.rag.models import KnowledgeChunk
from ai_core.rag.services.freshness import output_provenance_record
from review.services import review_item_approve

pytestmark = pytest.mark.django_db

REFUND = "Refunds are paid back to the original card within 30 days of the return arriving."
SALE = "Items bought in the seasonal sale can be exchanged but are not refunded."
ITEMS = [("h2", "Refunds"), ("p", REFUND), ("h2", "Sales"), ("p", SALE)]


@pytest.fixture
def page(section, publish, fake_embedder):
    return publish(section, title="Refund terms", slug="refunds", items=ITEMS)


def chunk_of(page, needle: str) -> KnowledgeChunk:
    return next(c for c in KnowledgeChunk.objects.filter(page_id=page.pk) if needle in c.text)


def held_citing(make_held, chunk, text: str, question: str):
    item = make_held(
        text,
        citations=[
            {"number": 1, "chunk_id": str(chunk.pk), "title": "Refund terms", "url": chunk.anchor_url}
        ],
        cited_chunk_ids=[str(chunk.pk)],
        site_id=Site.objects.get(is_default_site=True).pk,
        locale="en",
    )
    item.ai_request.payload = {"question": question}
    item.ai_request.save(update_fields=["payload"])
    output_provenance_record(request=item.ai_request, chunk_ids=[chunk.pk])
    return item


def rows(html: str, kind: str) -> list[str]:
    return re.findall(rf'<tr data-ai-dependent="{kind}">(.*?)</tr>', html, flags=re.S)


def test_the_ai_tab_lists_approved_answers_summaries_and_held_outputs_with_their_blocks(
    client, editor, reviewer, page, make_held
):
    refund, sale = chunk_of(page, "30 days"), chunk_of(page, "seasonal sale")
    approved = held_citing(make_held, refund, "Refunds take 30 days [1].", "How long do refunds take?")
    review_item_approve(item=approved, user=reviewer)
    held_citing(make_held, sale, "Sale items are exchanged, not refunded [1].", "Are sale items refunded?")

    client.force_login(editor)
    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    assert "What depends on this page" in html

    (answer,) = rows(html, "approved_answer")
    assert "How long do refunds take?" in answer and "Active" in answer
    assert "Under “Refunds”" in answer and "within 30 days" in answer
    assert "seasonal sale" not in answer
    assert f'data-cited-block="{refund.block_ids[-1]}"' in answer

    (held,) = rows(html, "awaiting_review")
    assert "Are sale items refunded?" in held and "Awaiting review" in held
    assert "Under “Sales”" in held and "seasonal sale" in held
    assert "within 30 days" not in held

    # The summary the publish generated cites the page's blocks too.
    (summary,) = rows(html, "summary")
    assert "page_summary" in summary and "data-cited-block=" in summary


def test_a_page_nothing_cites_says_so(client, editor, section, publish, fake_embedder, settings):
    page = publish(section, title="Quiet page", slug="quiet", items=[("p", "Nothing to see here at all.")])
    from content.models import PageSummary

    PageSummary.objects.filter(page=page).delete()
    client.force_login(editor)
    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    assert "No approved answer, summary or output awaiting review cites this page." in html


def test_a_held_output_links_to_its_queue_item_for_a_reviewer(client, reviewer, page, make_held):
    from tests.review.conftest import admin_url

    item = held_citing(make_held, chunk_of(page, "30 days"), "Refunds take 30 days [1].", "Refund time?")
    reviewer.is_superuser = True  # to open the page editor as well
    reviewer.save()
    client.force_login(reviewer)
    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    (held,) = rows(html, "awaiting_review")
    assert f'href="{admin_url("inspect", item)}"' in held


def test_the_ai_tab_warns_before_publishing_a_change_to_a_cited_block(
    client, editor, reviewer, page, make_held
):
    approved = held_citing(make_held, chunk_of(page, "30 days"), "Refunds take 30 days [1].", "Refund time?")
    review_item_approve(item=approved, user=reviewer)
    client.force_login(editor)
    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    assert "data-ai-draft-impact" not in html and "data-changed-in-draft" not in html

    # A draft changing the cited paragraph (same block, same id), saved but not published.
    draft = page.specific
    raw = list(draft.body.raw_data)
    index = next(i for i, b in enumerate(raw) if "30 days" in str(b["value"]))
    raw[index] = {**raw[index], "value": "<p>Refunds are paid back within 14 days.</p>"}
    draft.body = raw
    draft.save_revision(user=editor)

    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    assert "The unpublished changes alter 1 block(s) cited by 1 approved answer" in html
    (answer,) = rows(html, "approved_answer")
    # The live text is listed (what the answer rests on), marked as changed in the draft.
    assert "within 30 days" in answer and "data-changed-in-draft" in answer
    (summary,) = rows(html, "summary")
    assert "data-changed-in-draft" not in summary


def test_editors_who_may_not_read_the_queue_see_the_blocks_but_not_the_questions(
    client, editor, reviewer, page, make_held, settings
):
    settings.AI_CORE = {
        **settings.AI_CORE,
        "REVIEW": {**settings.AI_CORE.get("REVIEW", {}), "EDITORS_CAN_VIEW": False},
    }
    approved = held_citing(
        make_held, chunk_of(page, "30 days"), "Refunds take 30 days [1].", "My card ends 4242?"
    )
    review_item_approve(item=approved, user=reviewer)
    held_citing(
        make_held, chunk_of(page, "seasonal sale"), "Not refunded [1].", "Jane at jane@example.com asks"
    )
    client.force_login(editor)
    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    (answer,) = rows(html, "approved_answer")
    (held,) = rows(html, "awaiting_review")
    assert "4242" not in html and "jane@example.com" not in html
    assert "only the review queue" in answer and "within 30 days" in answer
    assert "only the review queue" in held and "seasonal sale" in held
    assert "/admin/review/" not in held  # and no link into the queue
