"""Page factories (wagtail-factories) for building trees in tests."""

import wagtail_factories
from wagtail.rich_text import RichText

from content.models import ArticleIndexPage, ArticlePage, HomePage


class HomePageFactory(wagtail_factories.PageFactory):
    title = "Home"
    slug = "home-test"

    class Meta:
        model = HomePage


class ArticleIndexPageFactory(wagtail_factories.PageFactory):
    title = "Guides"
    intro = "How-to guides."

    class Meta:
        model = ArticleIndexPage


class ArticlePageFactory(wagtail_factories.PageFactory):
    title = "Refund terms"
    intro = "When you can get your money back."

    class Meta:
        model = ArticlePage


def body_blocks(*paragraphs: str, heading: str = "Overview") -> list[tuple]:
    """A small realistic body: a heading, paragraphs, and a list."""
    stream: list[tuple] = [("heading", {"text": heading, "level": "h2"})]
    stream += [("paragraph", RichText(f"<p>{text}</p>")) for text in paragraphs]
    stream.append(("list", {"style": "ul", "items": ["First point", "Second point"]}))
    return stream
