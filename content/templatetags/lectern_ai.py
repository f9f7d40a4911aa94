"""Template helpers for AI output. Model text is always escaped before any markup is added."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from ai_core.selectors import VisibleOutput, ai_request_visible_output

register = template.Library()

CITATION_RE = re.compile(r"\[(\d{1,3})\]")


def _citation_map(citations) -> dict[int, dict]:
    mapping = {}
    for citation in citations or []:
        try:
            mapping[int(citation.get("number"))] = citation
        except (TypeError, ValueError, AttributeError):
            continue
    return mapping


def link_citations(text: str, citations) -> SafeString:
    """Escape ``text``, then turn ``[n]`` into a link to source n's block anchor.

    A marker that names no provided source stays plain text: it is never turned into a link to
    somewhere the model invented.
    """
    by_number = _citation_map(citations)

    def replace(match: re.Match) -> str:
        citation = by_number.get(int(match.group(1)))
        if not citation or not citation.get("url"):
            return match.group(0)
        return format_html(
            '<a class="citation" href="{}" title="{}">[{}]</a>',
            citation["url"],
            citation.get("title", ""),
            match.group(1),
        )

    return mark_safe(CITATION_RE.sub(replace, escape(text or "")))  # noqa: S308 - escaped above


@register.filter(name="cite_links")
def cite_links(text, citations) -> SafeString:
    return link_citations(text, citations)


@register.filter(name="answer_paragraphs")
def answer_paragraphs(text, citations) -> SafeString:
    """Paragraphs and "- " bullets of model output as HTML, escaped, with citation links."""
    blocks: list[str] = []
    items: list[str] = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith(("- ", "* ")):
            items.append(f"<li>{link_citations(stripped[2:], citations)}</li>")
            continue
        if items:
            blocks.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if stripped:
            blocks.append(f"<p>{link_citations(stripped, citations)}</p>")
    if items:
        blocks.append("<ul>" + "".join(items) + "</ul>")
    return mark_safe("".join(blocks))  # noqa: S308 - every piece was escaped by link_citations


@register.simple_tag(name="visible_output")
def visible_output(ai_request) -> VisibleOutput:
    """``{% visible_output ai_request as output %}``: what of the request may be shown, by the
    same rule as the poll API and the stream (``ai_core.selectors.ai_request_visible_output``)."""
    return ai_request_visible_output(request=ai_request)


@register.inclusion_tag("content/includes/ask_box.html", takes_context=True)
def ask_box(context, page=None):
    return {"page": page, "request": context.get("request")}


@register.inclusion_tag("content/includes/ai_summary.html")
def ai_summary(page):
    """The live revision's AI summary, or nothing at all while it is not ready to be shown."""
    from content.summaries import page_summary_visible

    summary = page_summary_visible(page) if page is not None else None
    output = ai_request_visible_output(request=summary.ai_request) if summary is not None else None
    if output is None or not output.shown:
        return {"summary": None}
    ai_request = summary.ai_request
    return {
        "summary": summary,
        "text": output.text,
        "citations": output.citations,
        "local_mode": ai_request.provider == "local",
        "model": ai_request.model_used,
    }
