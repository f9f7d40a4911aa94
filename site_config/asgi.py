import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")

django_application = get_asgi_application()

# Imported after Django is set up. Streaming views learn of a client's disconnect from an event in
# the scope, not only from the one task cancellation Django sends (ai_core/api/disconnect.py).
from ai_core.api.disconnect import disconnect_aware  # noqa: E402

application = disconnect_aware(django_application)
