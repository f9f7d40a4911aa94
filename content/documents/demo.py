"""The demo site's documents in the document library (``load_demo_content``): the generated PDFs
and Word file of ``content.demo_content.documents``, in their collections (the private one behind
a login restriction, so it is never indexed), each linked from its demo articles by a document
block. Safe to rerun: a document is found by title and collection, its file replaced only when
the bytes differ (so nothing is re-embedded), and an article is linked once, and only while no one
has edited it since the demo created it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import transaction
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction, Page

from content.demo_content.documents import demo_documents
from content.models import ArticlePage

from .links import page_document_ids


@dataclass(kw_only=True)
class DemoDocumentsReport:
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    linked: list[str] = field(default_factory=list)  # "section/slug -> filename"


def _collection(name: str, *, private: bool) -> Collection:
    root = Collection.get_first_root_node() or Collection.add_root(name="Root")
    collection = root.get_children().filter(name=name).first() or root.add_child(name=name)
    if private and not CollectionViewRestriction.objects.filter(collection=collection).exists():
        CollectionViewRestriction.objects.create(
            collection=collection, restriction_type=CollectionViewRestriction.LOGIN
        )
    return collection


def _same_file(document, data: bytes) -> bool:
    try:
        with document.open_file() as handle:
            return handle.read() == data
    except (OSError, ValueError):
        return False


def _link(page: ArticlePage, document, caption: str) -> bool:
    """Append a document block to the demo article, unless it links the document already or an
    editor has changed it (more than the demo's own revision)."""
    if document.pk in page_document_ids(page) or page.revisions.count() > 1:
        return False
    page.body.append(("document", {"document": document, "caption": caption}))
    page.save_revision().publish()
    return True


@transaction.atomic
def demo_documents_ensure(*, home: Page) -> DemoDocumentsReport:
    report = DemoDocumentsReport()
    model = get_document_model()
    for spec in demo_documents():
        collection = _collection(spec.collection, private=spec.private)
        document = model.objects.filter(title=spec.title, collection=collection).first()
        if document is None:
            document = model.objects.create(
                title=spec.title, file=ContentFile(spec.data, name=spec.filename), collection=collection
            )
            report.created += 1
        elif not _same_file(document, spec.data):
            document.file = ContentFile(spec.data, name=spec.filename)
            document.save()
            report.replaced += 1
        else:
            report.unchanged += 1
        for ref in spec.link_from:
            section_slug, _, slug = ref.partition("/")
            page = _article(home, section_slug, slug)
            caption = "Staff only: sign in to open it." if spec.private else ""
            if page is not None and _link(page, document, caption=caption):
                report.linked.append(f"{ref} -> {spec.filename}")
    return report


def _article(home: Page, section_slug: str, slug: str) -> ArticlePage | None:
    section = home.get_children().filter(slug=section_slug).first()
    return ArticlePage.objects.child_of(section).filter(slug=slug).first() if section else None
