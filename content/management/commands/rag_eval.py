"""Measure retrieval on labelled sets: hit@1/5/10, MRR@10 and negatives, one row per set and a mean.

Sets are reported apart because a setting that wins on one set and loses on another must be seen
as such, not averaged away in one merged list. FILE is JSON ``{"queries": [{"query": "...", "relevant": ["page-slug", ...]}]}``. Ranks are over
distinct pages in the order their best chunk was retrieved (labels name pages, not chunks), among
the CANDIDATES chunks that ``retrieve()`` ranks for a visitor's question. A
query with ``"relevant": []`` is a negative: it passes when retrieval, at the configured minimum
score, returns nothing. ``--setting KEY=VALUE`` overrides any ``AI_CORE["RETRIEVAL"]`` key for
the run, validated like the setting itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Page

from ai_core.rag.api import IndexEmbedderMismatchError, retrieval_settings, retrieve


def load_labelled_set(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CommandError(f"cannot read {path}: {err}") from err
    except json.JSONDecodeError as err:
        raise CommandError(f"{path} is not valid JSON: {err}") from err
    queries = data.get("queries") if isinstance(data, dict) else None
    if not isinstance(queries, list) or not queries:
        raise CommandError(f'{path} must be {{"queries": [{{"query": ..., "relevant": [...]}}, ...]}}')
    for n, item in enumerate(queries, start=1):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("query"), str)
            and item["query"].strip()
            and isinstance(item.get("relevant"), list)
            and all(isinstance(s, str) for s in item["relevant"])
        ):
            raise CommandError(
                f"{path}: query #{n} needs a non-empty 'query' string and a 'relevant' list of slugs"
            )
    return queries


def _setting_override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise CommandError(f"--setting {text!r}: expected KEY=VALUE, e.g. --setting MIN_SCORE=0.35")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value  # a bare string, e.g. --setting LEXICAL=candidates
    return key.strip().upper(), parsed


def evaluate_set(queries: list[dict], *, settings, slugs: dict[int, str]) -> dict:
    """One labelled set's metrics, its misses (relevant page not first) and its answered negatives."""
    positives = [q for q in queries if q["relevant"]]
    negatives = [q for q in queries if not q["relevant"]]
    hits = {1: 0, 5: 0, 10: 0}
    reciprocal, misses = 0.0, []
    for item in positives:
        # Every candidate a visitor's question draws its top chunks from (CANDIDATES), in order.
        chunks = retrieve(
            item["query"], site=None, locale=None, top_k=settings.candidates, min_score=0.0, settings=settings
        )
        ranked: list[str] = []
        for chunk in chunks:
            slug = slugs.get(chunk.page_id, f"document-{chunk.document_id}")
            if slug not in ranked:
                ranked.append(slug)
        rank = next((i for i, slug in enumerate(ranked[:10], start=1) if slug in item["relevant"]), None)
        for k in hits:
            hits[k] += bool(rank and rank <= k)
        reciprocal += 1 / rank if rank else 0.0
        if rank != 1:
            misses.append(
                {"query": item["query"], "relevant": item["relevant"], "rank": rank, "top": ranked[:3]}
            )
    false_answers = [
        {"query": item["query"], "titles": [c.title for c in found][:3]}
        for item in negatives
        if (found := retrieve(item["query"], site=None, locale=None, settings=settings))
    ]
    n = len(positives)
    return {
        "queries": n,
        **{f"hit@{k}": round(hits[k] / n, 3) if n else None for k in hits},
        "mrr@10": round(reciprocal / n, 3) if n else None,
        "negatives": len(negatives),
        "negatives_rejected": len(negatives) - len(false_answers),
        "misses": misses,
        "negatives_answered": false_answers,
    }


METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10")


class Command(BaseCommand):
    help = (
        "Evaluate retrieval against labelled query sets: hit@1/5/10, MRR@10 and negatives, per set and mean."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="One or more labelled sets.")
        parser.add_argument("--vector-weight", type=float, help="Override AI_CORE['RETRIEVAL'] for this run.")
        parser.add_argument("--text-weight", type=float)
        parser.add_argument("--rrf-k", type=int)
        parser.add_argument(
            "--min-score", type=float, help="Floor used for negatives (default: the setting)."
        )
        parser.add_argument(
            "--setting",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Override any AI_CORE['RETRIEVAL'] key for this run (VALUE as JSON, else a string).",
        )
        parser.add_argument("--json", action="store_true", help="Print the metrics as JSON.")

    def handle(self, *args, files: list[Path], **options):
        # Every file is read and checked before the first query runs: a typo in the third file
        # should not cost the first two files' evaluation time.
        sets = [(path, load_labelled_set(path)) for path in files]
        overrides = dict(_setting_override(text) for text in options["setting"])
        for name in ("vector_weight", "text_weight", "rrf_k", "min_score"):
            if options.get(name) is not None:
                overrides[name.upper()] = options[name]
        try:
            settings = retrieval_settings(overrides=overrides)
        except ImproperlyConfigured as err:
            raise CommandError(str(err)) from err
        slugs = dict(Page.objects.values_list("pk", "slug"))
        results = []
        try:
            for path, queries in sets:
                if not options["json"]:
                    self.stderr.write(f"evaluating {path.name} ({len(queries)} queries) ...")
                results.append({"file": str(path), **evaluate_set(queries, settings=settings, slugs=slugs)})
        except IndexEmbedderMismatchError as err:
            raise CommandError(str(err)) from err
        scored = [r for r in results if r["queries"]]
        mean = {
            "sets": len(scored),
            **{
                key: round(sum(r[key] for r in scored) / len(scored), 3) if scored else None
                for key in METRICS
            },
            "negatives": sum(r["negatives"] for r in results),
            "negatives_rejected": sum(r["negatives_rejected"] for r in results),
        }
        report = {
            "sets": results,
            "mean": mean,
            "settings": {key: getattr(settings, key.lower()) for key in sorted({*overrides, "MIN_SCORE"})},
        }
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self._table(results, mean, settings)

    def _table(self, results: list[dict], mean: dict, settings) -> None:
        width = max(len(Path(r["file"]).name) for r in results) + 2
        self.stdout.write(
            f"{'set':<{width}} {'queries':>7} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'mrr@10':>6}  negatives"
        )

        def cells(row: dict) -> str:
            return " ".join(f"{row[key]:>6.3f}" if row[key] is not None else f"{'-':>6}" for key in METRICS)

        for r in results:
            negatives = f"{r['negatives_rejected']}/{r['negatives']}" if r["negatives"] else "-"
            self.stdout.write(f"{Path(r['file']).name:<{width}} {r['queries']:>7} {cells(r)}  {negatives}")
        label = f"mean of {mean['sets']} set(s)"
        negatives = f"{mean['negatives_rejected']}/{mean['negatives']}" if mean["negatives"] else "-"
        self.stdout.write(f"{label:<{width}} {'':>7} {cells(mean)}  {negatives}")
        self.stdout.write(
            f"negatives pass when nothing clears MIN_SCORE {settings.min_score}; LEXICAL {settings.lexical}, "
            f"VECTOR_WEIGHT {settings.vector_weight}, TEXT_WEIGHT {settings.text_weight}, "
            f"NEIGHBOUR_WEIGHT {settings.neighbour_weight}"
            + (f", RRF_K {settings.rrf_k}" if settings.lexical == "full_text" else "")
        )
        for r in results:
            if r["misses"]:
                self.stdout.write(
                    f"\n{Path(r['file']).name}: queries whose relevant page was not ranked first:"
                )
            for miss in r["misses"]:
                self.stdout.write(
                    f"  rank {miss['rank'] or '>10'}: {miss['query']!r} wanted {miss['relevant']}, got {miss['top']}"
                )
            for answered in r["negatives_answered"]:
                self.stdout.write(f"  negative answered: {answered['query']!r} -> {answered['titles']}")
