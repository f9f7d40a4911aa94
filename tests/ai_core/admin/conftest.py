"""The dashboard tests label pages, so they need the site's page tree (content's fixtures)."""

from tests.content.conftest import home, section  # noqa: F401
