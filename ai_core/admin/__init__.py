"""ai_core's Wagtail admin screens, thin over its services and selectors. The hooks that register
them are in ``ai_core/wagtail_hooks.py``. Django's admin autodiscovery imports this package at
start-up (``django.contrib.admin`` is installed), so it imports nothing itself."""
