"""Synthetic help-centre prose for the RAG benchmarks (deterministic with a seeded ``Random``)."""

from __future__ import annotations

import random

from wagtail.rich_text import RichText

TOPICS = [
    "invoices",
    "refunds",
    "payroll",
    "VAT returns",
    "bank feeds",
    "audit logs",
    "permissions",
    "exports",
]
VERBS = ["are reviewed", "can be changed", "must be approved", "are archived", "are sent", "are reconciled"]
TAILS = [
    "by the account owner before the end of the month",
    "within 14 days of the request, unless the law requires otherwise",
    "automatically when the billing period closes",
    "after two-factor authentication has been confirmed for the workspace",
]


def paragraph(rng: random.Random, words: int) -> str:
    out: list[str] = []
    while len(" ".join(out).split()) < words:
        out.append(f"{rng.choice(TOPICS).capitalize()} {rng.choice(VERBS)} {rng.choice(TAILS)}.")
    return " ".join(out)


def long_body(rng: random.Random, *, sections: int = 10, total_words: int = 2000) -> tuple[list[tuple], int]:
    """About ``total_words`` words in ``sections`` sections of three paragraphs, and the exact count."""
    body: list[tuple] = []
    words = 0
    for n in range(sections):
        heading = f"Section {n + 1}: {rng.choice(TOPICS)}"
        body.append(("heading", {"text": heading, "level": "h2"}))
        words += len(heading.split())
        for _ in range(3):
            text = paragraph(rng, total_words // (3 * sections))
            body.append(("paragraph", RichText(f"<p>{text}</p>")))
            words += len(text.split())
    return body, words


def remove_bench_pages(section_id: int) -> None:
    """Best effort: a scratch database may lag behind models other work in progress has added."""
    from django.db import DatabaseError, transaction
    from wagtail.models import Page

    try:
        with transaction.atomic():
            Page.objects.get(pk=section_id).delete()
    except DatabaseError as err:
        print(f"(bench pages under page {section_id} left in place: {err.__class__.__name__}: {err})")


def bench_section():
    """A fresh section for this run, under the existing home page (or a new one in a scratch DB)."""
    import os

    from wagtail.models import Page, Site

    from content.models import HomePage
    from content.services import section_ensure

    home = HomePage.objects.first()
    if home is None:  # not home_page_ensure(): it deletes Wagtail's placeholder page, needlessly here
        home = Page.get_first_root_node().add_child(instance=HomePage(title="Bench home", slug="bench-home"))
        Site.objects.update_or_create(
            is_default_site=True, defaults={"hostname": "localhost", "root_page": home}
        )
    section, _ = section_ensure(home=home, title="RAG bench", slug=f"rag-bench-{os.getpid()}")
    return section
