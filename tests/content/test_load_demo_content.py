from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from wagtail.models import Site

from content.models import ArticleIndexPage, ArticlePage, HomePage


@pytest.mark.django_db
def test_loading_twice_gives_the_same_pages():
    call_command("load_demo_content", stdout=StringIO())
    first = sorted(ArticlePage.objects.values_list("url_path", flat=True))
    call_command("load_demo_content", stdout=StringIO())
    second = sorted(ArticlePage.objects.values_list("url_path", flat=True))
    assert first == second
    assert len(first) >= 20
    assert HomePage.objects.count() == 1
    assert Site.objects.get(is_default_site=True).root_page.specific_class is HomePage
    assert ArticleIndexPage.objects.count() >= 4


@pytest.mark.django_db
def test_demo_articles_are_substantial_and_structured():
    call_command("load_demo_content", stdout=StringIO())
    for page in ArticlePage.objects.live():
        types = [block.block_type for block in page.body]
        words = sum(len(str(block.render_as_block()).split()) for block in page.body)
        assert types.count("heading") >= 3, page.slug
        assert "list" in types, page.slug
        assert words >= 300, (page.slug, words)


@pytest.mark.django_db
def test_missing_source_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command("load_demo_content", source=tmp_path / "nope", stdout=StringIO())
    assert ArticlePage.objects.count() == 0


@pytest.mark.django_db
def test_a_broken_file_names_itself_and_keeps_what_was_loaded(tmp_path):
    section = tmp_path / "policies"
    section.mkdir()
    (section / "a-good.md").write_text("---\ntitle: Good\n---\n## One\n\nText here.\n")
    (section / "b-bad.md").write_text("---\nno colon here\n---\nBody\n")
    with pytest.raises(CommandError, match="b-bad.md"):
        call_command("load_demo_content", source=tmp_path, stdout=StringIO())
    assert list(ArticlePage.objects.values_list("slug", flat=True)) == ["a-good"]
