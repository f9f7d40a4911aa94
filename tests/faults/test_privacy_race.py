"""Privacy race: a view restriction is committed while the page's index task is mid-embed.

The task read the page as public, holds the page's source lock and waits on a slow embedding call
(the fake provider's OpenAI embeddings endpoint, delayed). The restriction's receiver cannot take
the lock, so it leaves removal to the run's own re-check (after embedding, before writing) and to
the index task it queues after commit. Afterwards no chunk of the page exists, and a visitor's
question about it cites nothing from it.
"""

from __future__ import annotations

import time

import pytest
from wagtail.models import PageViewRestriction, Site

from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk, PageIndexState
from tests.conftest import _worker_busy, tasks_routed_to, wait_for
from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory
from tests.rag.conftest import body, ensure_wagtail_initial_data

from .stack import wait_all_finished

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

EMBED_DELAY_S = 5.0  # the embedding call the restriction lands in; committing it takes milliseconds
SECRET = "Salary bands for the payroll team are reviewed every March by the finance director."
PUBLIC = "Office holidays for the support team are listed every January on the staff calendar."


def _publish(parent, *, slug: str, text: str):
    page = ArticlePageFactory(parent=parent, title=slug.title(), slug=slug, intro="", body=body(("p", text)))
    page.save_revision().publish()  # autocommit: the index task goes to the stack's queue at once
    return page


def _embedding_calls_for(fake_provider, text: str) -> list[dict]:
    return [r for r in fake_provider.requests_for(path="/embeddings") if text in str(r["body"].get("input"))]


def test_privacy_race(fault_stack, fake_provider, fault_counts, settings, redis_client):
    started = time.monotonic()
    stack = fault_stack(
        "privacy-race",
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_provider.base_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=f"{fake_provider.base_url}/v1",
        AI_EMBEDDER="openai",  # embeddings through the fake server, where a call can be slowed down
        AI_FALLBACK_TO_LOCAL="false",
        AI_REVIEW_WEAK_GROUNDING="false",  # the fake model echoes; held answers are not the point here
        # The fake server's embeddings are random vectors: their similarity means nothing, and no
        # page would clear the floor. Retrieval here finds pages by their words (the full-text mode),
        # so which pages a question can reach depends only on what the index holds.
        AI_RETRIEVAL_LEXICAL="full_text",
        AI_RETRIEVAL_TEXT_WEIGHT="0.8",
        AI_RETRIEVAL_MIN_SCORE="0.3",
    )
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-race")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    section = ArticleIndexPageFactory(parent=home, title="Staff", slug="staff")
    with tasks_routed_to(stack.queue):  # before the setting: it restores the eager flag it found
        settings.CELERY_TASK_ALWAYS_EAGER = False
        public = _publish(section, slug="holidays", text=PUBLIC)
        wait_for(
            lambda: KnowledgeChunk.objects.filter(page_id=public.pk).exists(),
            timeout=60,
            message=f"the worker never indexed the public page:\n{stack.worker_log()}",
        )
        fake_provider.script(path="/embeddings", latency=EMBED_DELAY_S, times=1)
        secret = _publish(section, slug="pay", text=SECRET)
        (call,) = wait_for(
            lambda: _embedding_calls_for(fake_provider, "Salary bands"),
            timeout=60,
            message=f"the index task never embedded the page:\n{stack.worker_log()}",
        )
        # The task is inside its embedding call now, holding the page's lock: restrict the page.
        PageViewRestriction.objects.create(page=secret, restriction_type=PageViewRestriction.LOGIN)
        restricted_after = time.time() - call["time"]
        assert restricted_after < EMBED_DELAY_S, "the restriction landed after the embedding call returned"
        # Done when the interrupted run has recorded its outcome and the re-check it queued has run.
        wait_for(
            lambda: (
                PageIndexState.objects.filter(page_id=secret.pk).exists()  # written as the run ends
                and not _worker_busy(redis_client, stack.queue)
            ),
            timeout=60,
            message=f"the index tasks never finished:\n{stack.worker_log()}",
        )
    leaked = KnowledgeChunk.objects.filter(page_id=secret.pk).count()
    state = PageIndexState.objects.get(page_id=secret.pk)

    visitor = stack.visitor()
    asked = {}
    for question in (
        "When are office holidays for the support team listed?",
        "When are salary bands reviewed?",
    ):
        response = visitor.ask(question)
        assert response.status_code == 202, response.text
        asked[question] = response.json()["id"]
    statuses = wait_all_finished(list(asked.values()), timeout=90)
    visitor.close()
    fault_counts.tally(list(statuses.values()))
    answers = {q: AIRequest.objects.get(pk=rid) for q, rid in asked.items()}
    cited = [
        int(c["chunk_id"]) for request in answers.values() for c in request.citations if c.get("chunk_id")
    ]
    prompts = [  # what the model was given for the visitors' questions (not page summaries)
        str(r["body"])
        for r in fake_provider.requests_for(path="/v1/messages")
        if any(question in str(r["body"]) for question in asked)
    ]
    assert len(prompts) == len(asked)  # both questions reached the model, so the check below means something
    cited_secret = KnowledgeChunk.objects.filter(pk__in=cited, page_id=secret.pk).count() + sum(
        "finance director" in prompt for prompt in prompts
    )
    fault_counts.duplicated = leaked
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    fault_counts.notes.append(
        f"restriction committed {restricted_after:.2f} s into a {EMBED_DELAY_S:.0f} s embedding call; "
        f"chunks of the private page afterwards: {leaked} (index state {state.status!r}); "
        f"answers citing it or prompts quoting it: {cited_secret}"
    )
    assert leaked == 0 and state.status == "private" and state.chunk_count == 0
    assert set(statuses.values()) == {AIRequest.Status.DONE}, statuses
    public_answer, secret_answer = answers.values()
    cited_pages = KnowledgeChunk.objects.filter(pk__in=[int(c["chunk_id"]) for c in public_answer.citations])
    assert set(cited_pages.values_list("page_id", flat=True)) == {public.pk}  # retrieval does work here
    assert cited_secret == 0 and secret_answer.citations == []
    assert stack.http_500 == 0
