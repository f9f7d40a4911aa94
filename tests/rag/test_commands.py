"""reindex, import_pages and rag_eval: happy paths, summaries, and bad input as CommandError."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from wagtail.models import Page

from ai_core.rag.models import KnowledgeChunk
from content.models import ArticlePage

from .fakes import HashEmbedder

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def indexed(fake_embedder, section, publish):
    return publish(
        section, title="Refunds", slug="refunds", intro="",
        items=[("h2", "Annual"), ("p", "Annual plans are refunded within 30 days."), ("h2", "Monthly"),
               ("p", "Monthly plans are not refunded.")],
    )  # fmt: skip


def test_reindex_all_reports_reuse_and_cleans_up_orphans(indexed):
    KnowledgeChunk.objects.filter(page_id=indexed.pk).update(page_id=999_999)  # chunks of a vanished page
    HashEmbedder.calls = []
    output = run("reindex", "--all")
    assert "2 embedded, 0 reused, 2 removed" in output
    assert not KnowledgeChunk.objects.filter(page_id=999_999).exists()
    assert "0 embedded, 2 reused, 0 removed" in run("reindex", "--page", str(indexed.pk))


def test_reindex_dry_run_estimates_tokens_and_cost_and_changes_nothing(indexed):
    KnowledgeChunk.objects.filter(page_id=indexed.pk, heading_path="Monthly").delete()
    HashEmbedder.calls = []
    output = run("reindex", "--all", "--dry-run")
    assert "would embed 1, reuse 1, remove 0" in output
    assert "tokens, cost 0.000000 USD" in output
    assert HashEmbedder.calls == [] and KnowledgeChunk.objects.count() == 1


def test_reindex_since_selects_recently_published_pages(indexed):
    assert "1 page(s)" in run("reindex", "--since", "2000-01-01", "--dry-run")
    assert "0 page(s)" in run("reindex", "--since", "2999-01-01T00:00:00", "--dry-run")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2024-02-31"], "is not a date"),
        (["--page", "424242"], "no page with id 424242"),
    ],
)
def test_reindex_bad_input_is_a_command_error(indexed, args, message):
    with pytest.raises(CommandError, match=message):
        run("reindex", *args)


def test_reindex_needs_a_selection(indexed):
    with pytest.raises(CommandError):
        run("reindex")


def test_import_pages_from_markdown_html_and_json(
    fake_embedder, section, tmp_path, django_capture_on_commit_callbacks
):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "vat.md").write_text("---\ntitle: VAT returns\n---\n## Deadlines\n\nFile quarterly.\n")
    (folder / "holidays.html").write_text(
        "<title>Bank holidays</title><h2>Closures</h2><p>We close on bank holidays.</p>"
    )
    (folder / "more.json").write_text(
        json.dumps(
            [
                {"title": "Payroll", "body": "## Runs\n\n- Weekly\n- Monthly"},
                {"title": "Pensions", "body": "<p>Auto-enrolment applies.</p>"},
            ]
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        output = run("import_pages", str(folder), "--parent", "guides")
    assert "Imported 4 page(s)" in output
    pages = {p.slug: p for p in ArticlePage.objects.child_of(section).live()}
    assert set(pages) == {"vat", "bank-holidays", "payroll", "pensions"}
    assert [b.block_type for b in pages["payroll"].body] == ["heading", "list"]
    assert [b.block_type for b in pages["bank-holidays"].body] == ["heading", "paragraph"]
    # Indexing followed through the publish hook.
    assert KnowledgeChunk.objects.filter(page_id=pages["vat"].pk).exists()
    # Re-running skips existing pages instead of duplicating or overwriting them.
    assert "0 page(s)" in run("import_pages", str(folder), "--parent", "guides")


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        ("bad.json", '{"title": "x"}', "expected a JSON list"),
        ("bad.json", '[{"body": "text"}]', "needs a non-empty 'title'"),
        ("bad.md", "no title anywhere", "no title"),
        ("empty.html", "<title>Empty</title>", "the body is empty"),
        ("notes.pdf", "%PDF", "no .md, .html or .json files"),
    ],
)
def test_import_pages_bad_input_stores_nothing(fake_embedder, section, tmp_path, filename, content, message):
    (tmp_path / "ok.md").write_text("# Fine page\n\nSome text.\n")
    (tmp_path / filename).write_text(content)
    path = tmp_path if filename != "notes.pdf" else tmp_path / filename
    before = Page.objects.count()
    with pytest.raises(CommandError, match=message):
        run("import_pages", str(path), "--parent", "guides")
    assert Page.objects.count() == before


def test_import_pages_unknown_parent(fake_embedder, section, tmp_path):
    (tmp_path / "ok.md").write_text("# Fine\n\nText.\n")
    with pytest.raises(CommandError, match="no section or home page"):
        run("import_pages", str(tmp_path), "--parent", "nope")


def _labelled(path, queries):
    path.write_text(json.dumps({"queries": queries}))
    return str(path)


def test_rag_eval_prints_a_row_per_set_and_their_mean(indexed, tmp_path):
    first = _labelled(
        tmp_path / "first.json",
        [
            {"query": "annual plans refunded", "relevant": ["refunds"]},
            {"query": "monthly plans refunded", "relevant": ["elsewhere"]},
            {"query": "sourdough hydration", "relevant": []},
        ],
    )
    second = _labelled(
        tmp_path / "second.json", [{"query": "monthly plans refunded", "relevant": ["refunds"]}]
    )
    output = run("rag_eval", first, second)
    rows = {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}
    # queries, hit@1, hit@5, hit@10, mrr@10, negatives
    assert rows["first.json"] == ["2", "0.500", "0.500", "0.500", "0.500", "1/1"]
    assert rows["second.json"] == ["1", "1.000", "1.000", "1.000", "1.000", "-"]
    assert rows["mean"][3:] == ["0.750", "0.750", "0.750", "0.750", "1/1"]  # after "of 2 set(s)"
    assert "'monthly plans refunded' wanted ['elsewhere']" in output
    report = json.loads(run("rag_eval", first, second, "--json"))
    assert [Path(s["file"]).name for s in report["sets"]] == ["first.json", "second.json"]
    assert report["sets"][0]["hit@10"] == 0.5 and report["sets"][0]["queries"] == 2
    assert report["sets"][1]["mrr@10"] == 1.0 and report["mean"]["mrr@10"] == 0.75


def test_rag_eval_setting_overrides_are_validated_like_the_setting(indexed, tmp_path):
    labelled = _labelled(tmp_path / "eval.json", [{"query": "annual plans", "relevant": ["refunds"]}])
    report = json.loads(run("rag_eval", labelled, "--json", "--setting", "MIN_SCORE=0.9"))
    assert report["settings"]["MIN_SCORE"] == 0.9
    with pytest.raises(CommandError, match="MIN_SCORE"):
        run("rag_eval", labelled, "--setting", "MIN_SCORE=7")
    with pytest.raises(CommandError, match="unknown key"):
        run("rag_eval", labelled, "--setting", "NO_SUCH_KEY=1")
    with pytest.raises(CommandError, match="KEY=VALUE"):
        run("rag_eval", labelled, "--setting", "MIN_SCORE")


def test_rag_eval_ranks_the_candidates_a_visitor_s_question_draws_from(indexed, section, publish, tmp_path):
    """Ranks come from CANDIDATES chunks, as retrieve() ranks them for a visitor, so a sweep of
    --setting CANDIDATES measures what it changes: a page past the pool is not found."""
    publish(section, title="Shipping", slug="shipping", intro="", items=[("p", "Orders ship within 3 days.")])
    labelled = _labelled(
        tmp_path / "eval.json", [{"query": "annual plans refunded", "relevant": ["shipping"]}]
    )
    deep = json.loads(run("rag_eval", labelled, "--json"))["sets"][0]
    assert deep["hit@5"] == 1.0 and deep["mrr@10"] == 0.5  # behind the refunds page
    shallow = json.loads(
        run("rag_eval", labelled, "--json", "--setting", "CANDIDATES=1", "--setting", "TOP_K=1")
    )["sets"][0]
    assert shallow["hit@10"] == 0.0 and shallow["mrr@10"] == 0.0


def test_rag_eval_names_the_bad_file_before_evaluating_any(indexed, tmp_path):
    good = _labelled(tmp_path / "good.json", [{"query": "annual plans", "relevant": ["refunds"]}])
    bad = tmp_path / "bad.json"
    bad.write_text('{"queries": [{"query": "no labels"}]}')
    out = StringIO()
    with pytest.raises(CommandError, match=r"bad\.json: query #1 needs"):
        call_command("rag_eval", good, str(bad), stdout=out, stderr=StringIO())
    assert out.getvalue() == ""


@pytest.mark.parametrize("content", ["[]", '{"queries": []}', '{"queries": [{"query": ""}]}', "nope"])
def test_rag_eval_rejects_malformed_files(indexed, tmp_path, content):
    labelled = tmp_path / "eval.json"
    labelled.write_text(content)
    with pytest.raises(CommandError):
        run("rag_eval", str(labelled))
