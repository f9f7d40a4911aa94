"""Wagtail registrations for the content app. Registration only: the code lives in its modules."""

from wagtail.snippets.models import register_snippet

from content.ai_admin.viewsets import AIViewSetGroup

register_snippet(AIViewSetGroup)
from content import (  # noqa: E402  (after the registration above, as before)
    wagtail_hooks_budget_alerts,  # noqa: E402,F401  (budget alerts: admin banner, AI → Budget alerts)
    wagtail_hooks_dashboard,  # noqa: E402,F401  (AI → Usage dashboard: costs, latency, quality, CSV)
    wagtail_hooks_indexing,  # noqa: E402,F401  (knowledge-index admin: status, Re-index, bulk Re-index)
)
