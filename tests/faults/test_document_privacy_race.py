"""Document privacy race: a collection view restriction is committed while one of its documents'
index task is mid-embed, and visitors ask about that document before, during and after.

The document was indexed while its collection was public (its first version's chunks are stored),
then its file is replaced; the re-index reads it as public, holds the document's source lock and
waits on a slow embedding call (the fake provider's OpenAI embeddings endpoint, delayed) for the
new text. The restriction's receiver cannot take the lock, so the first version's chunks stay in
the store until the run's own re-check (after embedding, before writing) withdraws the document;
meanwhile only retrieval's query-time check (``DOCUMENT_ACCESS_CHECK``) stands between visitors
and them. Questions asked in that window are answered by a second worker (visitor workload only)
while the first is still inside the embedding call; the test checks that they were.

Visitors never get the new text (it is never stored), nor the old one once the restriction is
committed: not in an answer, not as a citation, not in what the model was sent. Afterwards no
chunk of the document exists.
"""

from __future__ import annotations

import time

import pytest
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction, Site

from ai_core.models import AIRequest
from ai_core.rag.models import KnowledgeChunk, KnowledgeDocument
from tests.conftest import _worker_busy, start_celery_worker, stop_celery_worker, tasks_routed_to, wait_for
from tests.content.factories import HomePageFactory
from tests.rag.conftest import ensure_wagtail_initial_data

from .stack import wait_all_finished

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# The embedding call the restriction and the "during" questions land in. Those questions take
# about a second each to reach the model; the test fails, saying so, if they did not fit.
EMBED_DELAY_S = 12.0
OLD = "Refunds on annual contracts are granted within ninety days of signature by the legal counsel."
NEW = "Termination fees for enterprise contracts are waived when the customer gives six months notice."
PUBLIC = "Parking permits for office visitors are issued at the front desk every weekday morning."
OLD_MARK, NEW_MARK = "ninety days", "six months notice"
ASK_OLD = "Within how many days are refunds on annual contracts granted?"
ASK_NEW = "When are termination fees for enterprise contracts waived?"
ASK_PUBLIC = "Where are parking permits for office visitors issued?"


def _upload(collection, *, title: str, text: str, filename: str):
    # Autocommit: the index task goes to the stack's queue at once.
    return get_document_model().objects.create(
        title=title, file=ContentFile(text.encode(), name=filename), collection=collection
    )


def _embedding_calls_for(fake_provider, text: str) -> list[dict]:
    return [r for r in fake_provider.requests_for(path="/embeddings") if text in str(r["body"].get("input"))]


def _model_calls_for(fake_provider, question: str) -> list[str]:
    return [
        str(r["body"]) for r in fake_provider.requests_for(path="/v1/messages") if question in str(r["body"])
    ]


def test_document_privacy_race(fault_stack, fake_provider, fault_counts, settings, redis_client, tmp_path):
    started = time.monotonic()
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media  # this process writes the files; the worker reads them from here
    stack = fault_stack(
        "document-privacy-race",
        DJANGO_MEDIA_ROOT=str(media),
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_provider.base_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=f"{fake_provider.base_url}/v1",
        AI_EMBEDDER="openai",  # embeddings through the fake server, where a call can be slowed down
        AI_FALLBACK_TO_LOCAL="false",
        AI_REVIEW_WEAK_GROUNDING="false",  # the fake model echoes; held answers are not the point here
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
        # Random fake vectors mean nothing: retrieval finds chunks by their words (full-text mode),
        # so what a question can reach depends only on what the index holds (as in the page race).
        AI_RETRIEVAL_LEXICAL="full_text",
        AI_RETRIEVAL_TEXT_WEIGHT="0.8",
        AI_RETRIEVAL_MIN_SCORE="0.3",
    )
    # The stack's own worker (concurrency 1) will be busy embedding: visitors' answers need another.
    answers = start_celery_worker(
        queue=stack.queue,
        log_path=stack.logs / "worker-answers.log",
        extra_env=stack.env,
        workloads=("visitor",),
        name="answers",
        concurrency=2,
        clear_queues=False,
    )
    try:
        root = ensure_wagtail_initial_data()
        home = HomePageFactory(parent=root, slug="home-doc-race")
        Site.objects.update_or_create(
            is_default_site=True, defaults={"hostname": "localhost", "root_page": home}
        )
        top = Collection.get_first_root_node() or Collection.add_root(name="Root")
        legal, handbook = top.add_child(name="Legal"), top.add_child(name="Handbook")
        visitor = stack.visitor()
        asked: dict[str, str] = {}  # question -> request id

        def ask(question: str) -> str:
            response = visitor.ask(question)
            assert response.status_code == 202, response.text
            asked[question] = response.json()["id"]
            return question

        def reached_model(*questions: str) -> None:
            wait_for(
                lambda: all(_model_calls_for(fake_provider, q) for q in questions),
                timeout=60,
                message=f"the questions never reached the model:\n{(stack.logs / 'worker-answers.log').read_text()}",
            )

        with tasks_routed_to(stack.queue):  # before the setting: it restores the eager flag it found
            settings.CELERY_TASK_ALWAYS_EAGER = False
            public = _upload(handbook, title="Visitors", text=PUBLIC, filename="visitors.txt")
            terms = _upload(legal, title="Contract terms", text=OLD, filename="terms.txt")
            wait_for(
                lambda: (
                    KnowledgeDocument.objects.filter(
                        key__in=[str(public.pk), str(terms.pk)], status="indexed", chunk_count__gt=0
                    ).count()
                    == 2
                ),
                timeout=60,
                message=f"the worker never indexed the documents:\n{stack.worker_log()}",
            )
            stored = KnowledgeDocument.objects.get(source="wagtail", key=str(terms.pk))
            old_chunks = set(KnowledgeChunk.objects.filter(document=stored).values_list("pk", flat=True))
            # Before the race, while the collection is public: these questions do find the old text.
            before = ask(f"{ASK_OLD} (before the race)")
            reached_model(before)

            fake_provider.script(path="/embeddings", latency=EMBED_DELAY_S, times=1)
            terms.file = ContentFile(NEW.encode(), name="terms-v2.txt")
            terms.save()  # replaced: re-indexed after commit, and its embedding call is the slow one
            (call,) = wait_for(
                lambda: _embedding_calls_for(fake_provider, "Termination fees"),
                timeout=60,
                message=f"the index task never embedded the new file:\n{stack.worker_log()}",
            )
            # Inside the embedding call, holding the lock. A question about the new text, asked just
            # before the restriction (not awaited: the window is kept for the questions after it).
            mid = ask(f"{ASK_NEW} (while embedding)")
            CollectionViewRestriction.objects.create(
                collection=legal, restriction_type=CollectionViewRestriction.LOGIN
            )
            restricted_after = time.time() - call["time"]
            during = [ask(f"{ASK_OLD} (during the race)"), ask(f"{ASK_NEW} (during the race)")]
            reached_model(*during)
            answered_after = time.time() - call["time"]
            # The old chunks are still stored (the receiver could not take the lock; the run has not
            # re-checked yet): what kept them from the "during" questions was the query-time check.
            stale_in_window = KnowledgeChunk.objects.filter(document=stored).count()
            assert answered_after < EMBED_DELAY_S and stale_in_window, (
                f"the race window was missed: questions answered {answered_after:.2f} s into a "
                f"{EMBED_DELAY_S:.0f} s embedding call, {stale_in_window} stale chunks left"
            )
            # Done when the interrupted run has recorded its outcome and the re-check it queued has run.
            wait_for(
                lambda: (
                    KnowledgeDocument.objects.filter(pk=stored.pk, status="private").exists()
                    and not _worker_busy(redis_client, stack.queue)
                ),
                timeout=90,
                message=f"the index tasks never finished:\n{stack.worker_log()}",
            )
        leaked = KnowledgeChunk.objects.filter(document=stored).count()
        stored.refresh_from_db()
        after = [ask(f"{ASK_OLD} (after)"), ask(f"{ASK_NEW} (after)"), ask(ASK_PUBLIC)]
        statuses = wait_all_finished(list(asked.values()), timeout=90)
        seen = {q: visitor.status(rid) for q, rid in asked.items()}  # what the visitor's browser gets
        visitor.close()
    finally:
        stop_celery_worker(answers)

    fault_counts.tally(list(statuses.values()))
    answers_ = {q: AIRequest.objects.get(pk=rid) for q, rid in asked.items()}
    prompts = {q: " ".join(_model_calls_for(fake_provider, q)) for q in asked}
    assert all(prompts.values()), prompts  # every question reached the model: the checks below mean something

    def leaks(question: str, marks: tuple[str, ...], *, private: bool) -> list[str]:
        request, shown = answers_[question], str(seen[question])
        found = [f"prompt quotes {m!r}" for m in marks if m in prompts[question]]
        found += [f"answer quotes {m!r}" for m in marks if m in request.result or m in shown]
        link = f"/documents/{terms.pk}/"
        cited = any(int(c.get("chunk_id") or 0) in old_chunks for c in request.citations)
        if private and (cited or link in shown or link in str(request.citations)):
            found.append("cites the document")
        return found

    # The new text is never given out; the old one only before the restriction.
    leaked_answers = {q: leaks(q, (NEW_MARK,), private=False) for q in (before, mid)}
    leaked_answers |= {q: leaks(q, (OLD_MARK, NEW_MARK), private=True) for q in (*during, *after)}
    leaked_answers = {q: found for q, found in leaked_answers.items() if found}
    fault_counts.duplicated = leaked
    fault_counts.http_500 = stack.http_500
    fault_counts.seconds = time.monotonic() - started
    fault_counts.notes.append(
        f"restriction committed {restricted_after:.2f} s into a {EMBED_DELAY_S:.0f} s embedding call; "
        f"questions during it answered by {answered_after:.2f} s with {stale_in_window} stale chunks stored; "
        f"chunks of the private document afterwards: {leaked} (status {stored.status!r}); "
        f"answers citing or quoting it, or prompts quoting it, after the restriction: {len(leaked_answers)}"
    )
    assert leaked == 0 and stored.status == "private" and stored.chunk_count == 0
    assert set(statuses.values()) == {AIRequest.Status.DONE}, statuses
    # Retrieval does reach documents here: the old text before the restriction, the public document after.
    assert (
        OLD_MARK in prompts[before] and {int(c["chunk_id"]) for c in answers_[before].citations} & old_chunks
    )
    public_row = KnowledgeDocument.objects.get(source="wagtail", key=str(public.pk))
    cited = KnowledgeChunk.objects.filter(pk__in=[int(c["chunk_id"]) for c in answers_[ASK_PUBLIC].citations])
    assert set(cited.values_list("document_id", flat=True)) == {public_row.pk}
    assert leaked_answers == {}
    assert stack.http_500 == 0
