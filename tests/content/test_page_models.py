import re

from django.contrib.auth import get_user_model
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from content.models import ArticleIndexPage, ArticlePage, HomePage

from .factories import ArticleIndexPageFactory, ArticlePageFactory, HomePageFactory, body_blocks


class PageTreeRulesTests(WagtailPageTestCase):
    def setUp(self):
        root = Page.get_first_root_node()
        self.home = HomePageFactory(parent=root)
        Site.objects.update_or_create(
            is_default_site=True, defaults={"hostname": "localhost", "root_page": self.home}
        )
        self.section = ArticleIndexPageFactory(parent=self.home, slug="guides")
        self.user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw-editor-1")
        self.client.force_login(self.user)

    def test_home_page_accepts_sections_and_articles_only(self):
        self.assertAllowedSubpageTypes(HomePage, {ArticleIndexPage, ArticlePage})

    def test_articles_are_leaves(self):
        self.assertAllowedSubpageTypes(ArticlePage, set())

    def test_section_can_only_live_under_home(self):
        self.assertAllowedParentPageTypes(ArticleIndexPage, {HomePage})

    def test_editor_can_create_an_article_with_every_block_type_through_the_admin(self):
        self.assertCanCreate(
            self.section,
            ArticlePage,
            nested_form_data(
                {
                    "title": "Cancelling your plan",
                    "slug": "cancelling-your-plan",
                    "intro": "How to cancel.",
                    "body": streamfield(
                        [
                            ("heading", {"text": "Before you cancel", "level": "h2"}),
                            ("paragraph", rich_text("<p>Export your data first.</p>")),
                            ("quote", {"quote": "Cancellation is immediate.", "attribution": "Billing team"}),
                            ("list", {"style": "ol", "items": streamfield([("item", "Open settings")])}),
                        ]
                    ),
                }
            ),
        )

    def test_section_cannot_be_created_under_an_article(self):
        article = ArticlePageFactory(parent=self.section, slug="a", body=body_blocks("Text."))
        self.assertCanNotCreateAt(ArticlePage, ArticleIndexPage)
        response = self.client.get(f"/admin/pages/add/content/articleindexpage/{article.pk}/")
        # Wagtail's admin answers PermissionDenied by redirecting to the dashboard with a message.
        self.assertRedirects(response, "/admin/", fetch_redirect_response=False)


class ArticleRenderingTests(WagtailPageTestCase):
    def setUp(self):
        root = Page.get_first_root_node()
        self.home = HomePageFactory(parent=root)
        Site.objects.update_or_create(
            is_default_site=True, defaults={"hostname": "localhost", "root_page": self.home}
        )
        self.section = ArticleIndexPageFactory(parent=self.home, slug="guides", title="Guides")
        self.article = ArticlePageFactory(
            parent=self.section,
            slug="refunds",
            title="Refund terms",
            body=body_blocks("Refunds are possible within 30 days.", "After that, no refunds."),
        )

    def test_every_block_renders_with_its_stable_id_as_anchor(self):
        response = self.client.get(self.article.url)
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        for block in self.article.body:
            self.assertIn(f'id="block-{block.id}"', html)
        self.assertEqual(len(re.findall(r'id="block-[0-9a-f-]{36}"', html)), len(self.article.body))
        self.assertIn("Refunds are possible within 30 days.", html)

    def test_block_anchor_survives_an_edit_of_another_block(self):
        first_id = self.article.body[1].id
        self.article.body[2].value.source = "<p>Changed text.</p>"
        self.article.save_revision().publish()
        self.article.refresh_from_db()
        self.assertEqual(self.article.body[1].id, first_id)
        self.assertIn(f'id="block-{first_id}"', self.client.get(self.article.url).content.decode())

    def test_home_and_section_pages_list_their_articles(self):
        home_html = self.client.get(self.home.url).content.decode()
        self.assertIn("Guides", home_html)
        section_html = self.client.get(self.section.url).content.decode()
        self.assertIn('href="/guides/refunds/"', section_html)
        self.assertPageIsRenderable(self.section)
