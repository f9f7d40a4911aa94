"""Measure retrieval on a labelled set: hit@1/5/10, MRR@10 and the misses, per query.

FILE is JSON ``{"queries": [{"query": "...", "relevant": ["page-slug", ...]}]}``. Ranks are over
distinct pages in the order their best chunk was retrieved (labels name pages, not chunks). A
query with ``"relevant": []`` is a negative: it passes when retrieval, at the configured minimum
score, returns nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

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


class Command(BaseCommand):
    help = "Evaluate retrieval against a labelled query set (hit@1/5/10, MRR@10, misses)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="One or more labelled sets.")
        parser.add_argument("--vector-weight", type=float, help="Override AI_CORE['RETRIEVAL'] for this run.")
        parser.add_argument("--text-weight", type=float)
        parser.add_argument("--rrf-k", type=int)
        parser.add_argument(
            "--min-score", type=float, help="Floor used for negatives (default: the setting)."
        )
        parser.add_argument("--json", action="store_true", help="Print the metrics as JSON.")

    def handle(self, *args, files: list[Path], **options):
        queries = [q for path in files for q in load_labelled_set(path)]
        overrides = {
            name: options[name]
            for name in ("vector_weight", "text_weight", "rrf_k", "min_score")
            if options.get(name) is not None
        }
        settings = replace(retrieval_settings(), **overrides)
        slugs = dict(Page.objects.values_list("pk", "slug"))
        positives = [q for q in queries if q["relevant"]]
        negatives = [q for q in queries if not q["relevant"]]
        hits = {1: 0, 5: 0, 10: 0}
        reciprocal, misses = 0.0, []
        try:
            for item in positives:
                chunks = retrieve(
                    item["query"], site=None, locale=None, top_k=50, min_score=0.0, settings=settings
                )
                ranked: list[str] = []
                for chunk in chunks:
                    slug = slugs.get(chunk.page_id, f"document-{chunk.document_id}")
                    if slug not in ranked:
                        ranked.append(slug)
                rank = next(
                    (i for i, slug in enumerate(ranked[:10], start=1) if slug in item["relevant"]), None
                )
                for k in hits:
                    hits[k] += bool(rank and rank <= k)
                reciprocal += 1 / rank if rank else 0.0
                if rank != 1:
                    misses.append((item["query"], item["relevant"], rank, ranked[:3]))
            false_answers = [
                (item["query"], [c.title for c in found])
                for item in negatives
                if (found := retrieve(item["query"], site=None, locale=None, settings=settings))
            ]
        except IndexEmbedderMismatchError as err:
            raise CommandError(str(err)) from err
        n = len(positives) or 1
        metrics = {
            "queries": len(positives),
            "hit@1": round(hits[1] / n, 3),
            "hit@5": round(hits[5] / n, 3),
            "hit@10": round(hits[10] / n, 3),
            "mrr@10": round(reciprocal / n, 3),
            "negatives": len(negatives),
            "negatives_rejected": len(negatives) - len(false_answers),
            "settings": {
                "vector_weight": settings.vector_weight,
                "text_weight": settings.text_weight,
                "rrf_k": settings.rrf_k,
                "min_score": settings.min_score,
            },
        }
        if options["json"]:
            self.stdout.write(json.dumps(metrics))
            return
        self.stdout.write(f"{'metric':<10} value")
        for key in ("hit@1", "hit@5", "hit@10", "mrr@10"):
            self.stdout.write(f"{key:<10} {metrics[key]:.3f}")
        self.stdout.write(f"over {len(positives)} queries; settings {metrics['settings']}")
        if negatives:
            self.stdout.write(
                f"negatives: {metrics['negatives_rejected']}/{len(negatives)} returned nothing at min_score "
                f"{settings.min_score}"
            )
        if misses:
            self.stdout.write("\nqueries whose relevant page was not ranked first:")
            for query, relevant, rank, top in misses:
                self.stdout.write(f"  rank {rank or '>10'}: {query!r} wanted {relevant}, got {top}")
        for query, titles in false_answers:
            self.stdout.write(f"  negative answered: {query!r} -> {titles[:3]}")
