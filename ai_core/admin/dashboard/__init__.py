"""The AI usage and quality dashboard under the admin's "AI" menu: one page of aggregates over a
date range, inline SVG charts and CSV export. The numbers come from ``ai_core.selectors``, and
from the sections other apps register (``sections.py``; the review queue's is ``review/dashboard.py``);
this package only chooses the range, labels pages and renders."""
