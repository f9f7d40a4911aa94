"""Wagtail's document library as content: its files are indexed into the knowledge store like pages.

The Wagtail half of document indexing (``ai_core.rag`` never sees a Wagtail document): which
documents visitors may read (collection privacy, collection sites), keeping the index in step with
uploads, replacements, deletions and privacy changes, and the documents an article links.
"""
