"""The page-side admin: indexing status and bulk actions, the page editor's AI panel. Django's admin
autodiscovery imports this package at start-up (``django.contrib.admin`` is installed), so it
imports nothing itself."""
