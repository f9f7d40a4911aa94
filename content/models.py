from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import ArticleBodyBlock


class HomePage(Page):
    intro = RichTextField(blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["content.ArticleIndexPage", "content.ArticlePage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["sections"] = ArticleIndexPage.objects.child_of(self).live().public()
        context["recent_articles"] = (
            ArticlePage.objects.descendant_of(self).live().public().order_by("-last_published_at")[:6]
        )
        return context


class ArticleIndexPage(Page):
    """A section of the site, e.g. "Policies" or "Guides"."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]

    parent_page_types = ["content.HomePage"]
    subpage_types = ["content.ArticlePage"]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["articles"] = ArticlePage.objects.child_of(self).live().public().order_by("title")
        return context


class ArticlePage(Page):
    intro = models.TextField(
        blank=True, help_text="One or two sentences shown in listings and under the title."
    )
    body = StreamField(ArticleBodyBlock())

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["content.ArticleIndexPage", "content.HomePage"]
    subpage_types: list[str] = []
