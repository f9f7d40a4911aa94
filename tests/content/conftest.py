import pytest
from wagtail.models import Page, Site

from .factories import ArticleIndexPageFactory, HomePageFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files (the demo's documents, library uploads) go to a temporary folder, not the
    repository's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def home(db):
    root = Page.get_first_root_node()
    home = HomePageFactory(parent=root)
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    return home


@pytest.fixture
def section(home):
    return ArticleIndexPageFactory(parent=home, title="Guides", slug="guides")
