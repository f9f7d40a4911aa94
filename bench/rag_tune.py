"""Tune retrieval fusion on the labelled set: weights, RRF k and the minimum score.

Each query is embedded and searched once (both candidate lists); the grid then re-fuses those
lists in Python, so a full sweep costs one retrieval per query. Needs a database with the demo
content loaded and indexed, e.g.:

    DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench \\
      .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_demo_content
    DATABASE_URL=... .venv/bin/python bench/rag_tune.py tests/data/rag_eval.json tests/rag/data/rag_negatives.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")

import django  # noqa: E402

django.setup()

from wagtail.models import Page  # noqa: E402

from ai_core.rag.conf import retrieval_settings  # noqa: E402
from ai_core.rag.fusion import weighted_rrf  # noqa: E402
from ai_core.rag.models import KnowledgeChunk  # noqa: E402
from ai_core.rag.selectors import retrieval_candidates  # noqa: E402


def ranked_pages(fused, page_of: dict[int, str]) -> list[str]:
    pages: list[str] = []
    for item in fused:
        slug = page_of.get(item.id)
        if slug and slug not in pages:
            pages.append(slug)
    return pages


def metrics(runs, weights, k, page_of) -> dict[str, float]:
    hit1 = hit5 = hit10 = rr = 0.0
    for relevant, lists in runs:
        pages = ranked_pages(weighted_rrf(lists, weights=weights, k=k), page_of)[:10]
        rank = next((i for i, slug in enumerate(pages, start=1) if slug in relevant), None)
        hit1 += rank == 1
        hit5 += bool(rank and rank <= 5)
        hit10 += bool(rank)
        rr += 1 / rank if rank else 0
    n = len(runs)
    return {"hit@1": hit1 / n, "hit@5": hit5 / n, "hit@10": hit10 / n, "mrr@10": rr / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    queries = [q for path in args.files for q in json.loads(path.read_text())["queries"]]
    settings = replace(retrieval_settings(), candidates=50)
    slugs = dict(Page.objects.values_list("pk", "slug"))
    page_of = {
        pk: slugs.get(page_id, "") for pk, page_id in KnowledgeChunk.objects.values_list("pk", "page_id")
    }
    runs = [
        (q["relevant"], retrieval_candidates(q["query"], site=None, locale=None, limit=50, settings=settings))
        for q in queries
    ]
    positives = [r for r in runs if r[0]]
    negatives = [r for r in runs if not r[0]]

    print(f"Fusion grid over {len(positives)} labelled queries (vector weight 1.0)")
    print(f"{'text_w':>6} {'k':>4} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'mrr@10':>6}")
    rows = [
        ("vector only", {"vector": 1.0, "text": 0.0}, 60),
        ("text only", {"vector": 0.0, "text": 1.0}, 60),
    ]
    for name, weights, k in rows:
        m = metrics(positives, weights, k, page_of)
        print(f"{name:>11} {m['hit@1']:.3f} {m['hit@5']:.3f} {m['hit@10']:.3f} {m['mrr@10']:.3f}")
    best = None
    for text_w in (0.2, 0.4, 0.6, 0.8, 1.0, 1.5):
        for k in (10, 30, 60, 120):
            m = metrics(positives, {"vector": 1.0, "text": text_w}, k, page_of)
            print(f"{text_w:>6} {k:>4} {m['hit@1']:.3f} {m['hit@5']:.3f} {m['hit@10']:.3f} {m['mrr@10']:.3f}")
            key = (m["mrr@10"], m["hit@1"])
            if best is None or key > best[0]:
                best = (key, text_w, k)
    _, text_w, k = best
    print(f"\nbest: text weight {text_w}, k {k}")

    weights = {"vector": 1.0, "text": text_w}
    print("\nMinimum score sweep (best fusion): positives whose top result survives vs negatives rejected")
    print(f"{'min':>5} {'pos kept':>9} {'pos top relevant':>17} {'neg rejected':>13}")
    for floor in (0.2, 0.25, 0.27, 0.29, 0.3, 0.32, 0.35, 0.4):
        kept = relevant_top = 0
        for relevant, lists in positives:
            fused = [f for f in weighted_rrf(lists, weights=weights, k=k) if f.score >= floor]
            kept += bool(fused)
            relevant_top += bool(fused) and page_of.get(fused[0].id) in relevant
        rejected = sum(
            not any(f.score >= floor for f in weighted_rrf(lists, weights=weights, k=k))
            for _, lists in negatives
        )
        print(
            f"{floor:>5} {kept / len(positives):>9.3f} {relevant_top / len(positives):>17.3f} "
            f"{rejected:>6}/{len(negatives)}"
        )


if __name__ == "__main__":
    main()
