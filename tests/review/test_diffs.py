"""The word-level diff reviewers read: what changed, and never a live tag from either text."""

import html as html_lib
import re

from review.diffs import text_diff_html, text_diff_stats


def _side(diff: str, *, keep: str, drop: str) -> str:
    """One side of a diff back as text: drop one kind of mark with its content, unwrap the other."""
    body = diff.removeprefix('<div class="review-diff">').removesuffix("</div>")
    body = re.sub(rf'<{drop} class="review-diff__{drop}">.*?</{drop}>', "", body, flags=re.S)
    body = re.sub(rf'</?{keep}(?: class="review-diff__{keep}")?>', "", body)
    return html_lib.unescape(body.replace("<br>", "\n"))


def test_a_changed_figure_is_one_deleted_and_one_inserted_word():
    html = text_diff_html("Refunds within 30 days [1].", "Refunds within 14 days [1].")
    assert '<del class="review-diff__del">30</del><ins class="review-diff__ins">14</ins>' in html
    assert html.startswith('<div class="review-diff">Refunds within ')
    assert text_diff_stats("Refunds within 30 days.", "Refunds within 14 days.").inserted_words == 1


def test_script_in_the_model_text_or_the_edit_is_escaped_on_every_side():
    old = "Call <script>alert('old')</script> us."
    new = "Call us <img src=x onerror=alert(1)>. Same <b>kept</b>"
    html = str(text_diff_html(old + " Same <b>kept</b>", new))
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;b&gt;kept&lt;/b&gt;" in html  # unchanged text is escaped too
    # Each side reads back exactly: nothing lost or reordered by the escaping.
    assert _side(html, keep="del", drop="ins") == old + " Same <b>kept</b>"
    assert _side(html, keep="ins", drop="del") == new


def test_identical_texts_have_no_marks_and_line_breaks_are_kept():
    html = text_diff_html("One.\nTwo.", "One.\nTwo.")
    assert "<ins" not in html and "<del" not in html and "One.<br>Two." in html
    assert not text_diff_stats("One.\nTwo.", "One.\nTwo.").changed


def test_an_empty_side_is_all_insertion_or_all_deletion():
    assert text_diff_html("", "New text") == (
        '<div class="review-diff"><ins class="review-diff__ins">New text</ins></div>'
    )
    assert '<del class="review-diff__del">Old</del>' in text_diff_html("Old", "")
    assert text_diff_stats("Old words here", "").deleted_words == 3
