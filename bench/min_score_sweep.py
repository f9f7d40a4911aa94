"""The minimum-score floor for the configured embedder, swept on labelled sets.

``MIN_SCORE`` turns retrieval into "I don't know" when nothing scores high enough. Scores include
the embedder's cosine similarities, so each embedder needs its floor measured, not inherited: an
int8 model's cosines sit a little apart from the float32 one's. Each query is retrieved once (the
real ``retrieve``, current settings, floor 0); its best score then decides every floor of the
sweep. Needs a database indexed with the embedder under test (``AI_EMBEDDER``), e.g.:

    DATABASE_URL=... AI_EMBEDDER=local-onnx .venv/bin/python bench/min_score_sweep.py \\
        tests/data/rag_eval.json tests/rag/data/rag_negatives.json tests/data/debian_faq_eval.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")

import django  # noqa: E402

django.setup()

from wagtail.models import Page  # noqa: E402

from ai_core import providers  # noqa: E402
from ai_core.rag.api import retrieval_settings, retrieve  # noqa: E402

FLOORS = (0.2, 0.25, 0.27, 0.29, 0.3, 0.32, 0.35, 0.4)


def best_hits(queries: list[dict], slugs: dict[int, str]) -> list[tuple[list[str], float, str]]:
    """(relevant slugs, best score, best page slug) per query; score 0 when nothing came back."""
    out = []
    for n, item in enumerate(queries, start=1):
        found = retrieve(item["query"], site=None, locale=None, top_k=1, min_score=0.0)
        top = found[0] if found else None
        out.append((item["relevant"], top.score if top else 0.0, slugs.get(top.page_id, "") if top else ""))
        if n % 25 == 0:
            print(f"  {n}/{len(queries)} queries", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--floors", type=float, nargs="+", default=list(FLOORS))
    args = parser.parse_args()
    slugs = dict(Page.objects.values_list("pk", "slug"))
    print(
        f"embedder {providers.embedder().embedder_id}; configured MIN_SCORE {retrieval_settings().min_score}"
    )
    for path in args.files:
        print(f"{path.name}: retrieving ...", file=sys.stderr, flush=True)
        runs = best_hits(json.loads(path.read_text("utf-8"))["queries"], slugs)
        positives = [r for r in runs if r[0]]
        negatives = [r for r in runs if not r[0]]
        print(f"\n{path.name}: {len(positives)} answerable, {len(negatives)} unanswerable")
        print(f"{'floor':>5} {'answerable kept':>15} {'top right':>9} {'unanswerable empty':>18}")
        for floor in args.floors:
            kept = [r for r in positives if r[1] >= floor]
            right = sum(slug in relevant for relevant, _, slug in kept)
            rejected = sum(score < floor for _, score, _ in negatives)
            share = f"{len(kept) / len(positives):>15.3f}" if positives else f"{'-':>15}"
            top = f"{right / len(positives):>9.3f}" if positives else f"{'-':>9}"
            print(f"{floor:>5} {share} {top} {f'{rejected}/{len(negatives)}':>18}")


if __name__ == "__main__":
    main()
