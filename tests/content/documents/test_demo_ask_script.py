"""``scripts/demo_ask.py`` (run by ``make demo``) asks the running site as a visitor and prints an
answer cited to a document's page."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection, Site

from tests.conftest import REPO_ROOT, live_stack
from tests.content.factories import HomePageFactory
from tests.rag.conftest import ensure_wagtail_initial_data
from tests.rag.doc_factories import pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ["Price list.", "Add-ons. The payroll add-on costs 4 euros per employee per month."]
QUESTION = "How much does the payroll add-on cost per employee?"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    with live_stack(
        "docs-demo-ask",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_REVIEW_WEAK_GROUNDING="false",
    ) as web:
        yield web


def test_the_demo_question_is_answered_citing_the_pdf_page(stack, transactional_db, fake_provider):
    root = ensure_wagtail_initial_data()
    home = HomePageFactory(parent=root, slug="home-demo-ask")
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "127.0.0.1", "root_page": home})
    collection = Collection.get_first_root_node() or Collection.add_root(name="Root")
    document = get_document_model().objects.create(
        title="Fee schedule", file=ContentFile(pdf_bytes(PAGES), name="fees.pdf"), collection=collection
    )
    fake_provider.script(path="/v1/messages", reply="It costs 4 euros per employee per month [1].")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "demo_ask.py"), stack.url, QUESTION, "60"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Fee schedule, page 2 -> {stack.url}/documents/{document.pk}/fees.pdf#page=2" in result.stdout
