"""Wagtail registrations for the content app. Registration only: the code lives in its modules."""

from wagtail.snippets.models import register_snippet

from content.ai_admin.viewsets import AIViewSetGroup

register_snippet(AIViewSetGroup)
from content import wagtail_hooks_indexing  # noqa: E402,F401  (knowledge-index admin: status, Re-index, bulk Re-index)
