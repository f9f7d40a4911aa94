"""Fixtures for the document library tests: the fake embedder and page tree of the RAG tests, and
helpers that upload or replace a document the way code (or the admin) does. Files go to a
temporary MEDIA_ROOT (``tests/content/conftest.py``)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection

from tests.rag.conftest import fake_embedder, home, publish, section  # noqa: F401 (fixtures)


@pytest.fixture
def root_collection(db):
    return Collection.get_first_root_node() or Collection.add_root(name="Root")


@pytest.fixture
def upload(django_capture_on_commit_callbacks, root_collection):
    """Create a library document from bytes and run the on-commit index task inline."""

    def _upload(data: bytes, *, filename: str, title: str = "", collection=None):
        with django_capture_on_commit_callbacks(execute=True):
            document = get_document_model().objects.create(
                title=title or filename,
                file=ContentFile(data, name=filename),
                collection=collection or root_collection,
            )
        return document

    return _upload


@pytest.fixture
def replace_file(django_capture_on_commit_callbacks):
    def _replace(document, data: bytes, *, filename: str):
        with django_capture_on_commit_callbacks(execute=True):
            document.file = ContentFile(data, name=filename)
            document.save()
        document.refresh_from_db()
        return document

    return _replace
