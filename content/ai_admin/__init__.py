"""Wagtail admin UI for ai_core: prompt snippets, their golden-case gate and the routing table."""
