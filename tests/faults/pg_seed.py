"""Create a small page tree in the database named by ``DATABASE_URL`` and print the article ids.

Run as a subprocess against the private PostgreSQL cluster (``python -m tests.faults.pg_seed 8``):
the pytest process keeps its own Django connection on the shared test database, so the private
cluster is written only by processes started for it. Pages are published (a live revision, which
summaries need) with the index-on-publish receiver disconnected, so nothing is queued: the test
decides when indexing starts.
"""

from __future__ import annotations

import json
import os
import sys


def main(count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.test")
    import django

    django.setup()
    from wagtail.models import Locale, Page, Site
    from wagtail.rich_text import RichText
    from wagtail.signals import page_published

    from content.models import ArticlePage
    from tests.content.factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory

    page_published.disconnect(sender=ArticlePage, dispatch_uid="content.rag.published")
    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    home = HomePageFactory(parent=root, slug="faults-home")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    section = ArticleIndexPageFactory(parent=home, title="Policies", slug="policies")
    ids = []
    for n in range(count):
        body = [("heading", {"text": f"Policy {n}: scope", "level": "h2"})]
        body += [
            ("paragraph", RichText(f"<p>Clause {n}.{k}: customers of plan {n} may cancel within {k + 14} days "
                                   f"and receive a refund of {10 * k + n} percent of the fee paid.</p>"))
            for k in range(6)
        ]  # fmt: skip
        body.append(("heading", {"text": f"Policy {n}: exceptions", "level": "h2"}))
        body.append(
            ("list", {"style": "ul", "items": [f"Gift cards for plan {n}", f"Promotions in region {n}"]})
        )
        page = ArticlePageFactory(
            parent=section, title=f"Refund policy {n}", slug=f"refund-policy-{n}", live=True,
            intro=f"How refunds work for plan {n}.", body=body,
        )  # fmt: skip
        page.save_revision().publish()
        ids.append(page.pk)
    print(json.dumps(ids))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
