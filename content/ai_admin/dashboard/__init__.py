"""The AI usage and quality dashboard under the admin's "AI" menu: one page of aggregates over a
date range, inline SVG charts and CSV export. The numbers come from ``ai_core.dashboard`` and
``review.selectors``; this package only chooses the range, labels pages and renders."""
