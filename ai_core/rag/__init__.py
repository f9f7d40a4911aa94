"""Retrieval-augmented generation for Lectern: chunk, embed, store, retrieve, track freshness.

Wagtail-free: pages reach this package as ``Segment`` lists and integer ids from
``content.indexing``; this package never imports ``content``.
"""
