"""Precision and recall of approved-answer reuse per similarity threshold, on question pairs.

A later question is answered with an approved answer when the cosine similarity of the two
questions' embeddings reaches ``AI_CORE["APPROVED_ANSWERS"]["MIN_SIMILARITY"]``. A false positive
serves a reviewed answer to a question it does not answer, which is worse than a model call, so the
threshold is chosen for precision first. Pairs: ``tests/data/paraphrase_pairs.json`` (built by
``tests/data/build_paraphrase_pairs.py``: hand-written rewordings, and hard negatives from the
Debian/Python FAQs, the demo set and hand-written minimal pairs). No database, no Django.

    .venv/bin/python bench/answer_reuse_threshold.py [--embedder local|local-onnx] [--from 0.80 --to 0.98]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ai_core.answers.matching import different_question  # noqa: E402
from ai_core.providers.local.minilm import LocalMiniLMEmbedder  # noqa: E402
from ai_core.providers.local.onnx_minilm import OnnxMiniLMEmbedder  # noqa: E402

PAIRS = ROOT / "tests" / "data" / "paraphrase_pairs.json"


def similarities(pairs: list[dict], embedder) -> np.ndarray:
    texts = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    vectors = np.asarray(embedder.embed(texts).vectors, dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = {t: i for i, t in enumerate(texts)}
    return np.array([float(vectors[index[p["a"]]] @ vectors[index[p["b"]]]) for p in pairs])


def table(pairs: list[dict], sims: np.ndarray, thresholds: list[float], *, checked: bool) -> list[dict]:
    same = np.array([p["same"] == 1 for p in pairs])
    # The word checks the lookup applies after the threshold (ai_core/answers/matching.py).
    allowed = np.array([not checked or not different_question(p["a"], p["b"]) for p in pairs])
    rows = []
    for t in thresholds:
        served = (sims >= t) & allowed
        tp, fp = int((served & same).sum()), int((served & ~same).sum())
        fn = int((~served & same).sum())
        wrong = Counter(p["kind"] for p, s in zip(pairs, served, strict=True) if s and p["same"] == 0)
        rows.append(
            {
                "threshold": t,
                "precision": tp / (tp + fp) if tp + fp else 1.0,
                "recall": tp / (tp + fn) if tp + fn else 0.0,
                "tp": tp,
                "fp": fp,
                "fp_kinds": dict(wrong),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", choices=["local", "local-onnx"], default="local")
    parser.add_argument("--from", dest="start", type=float, default=0.80)
    parser.add_argument("--to", dest="stop", type=float, default=0.98)
    parser.add_argument("--step", type=float, default=0.01)
    parser.add_argument("--closest", type=int, default=8, help="list the N most similar negative pairs")
    args = parser.parse_args()

    pairs = json.loads(PAIRS.read_text())["pairs"]
    embedder = LocalMiniLMEmbedder() if args.embedder == "local" else OnnxMiniLMEmbedder()
    sims = similarities(pairs, embedder)
    counts = Counter(("positive" if p["same"] else "negative") for p in pairs)
    print(f"{len(pairs)} pairs ({counts['positive']} same question, {counts['negative']} different), "
          f"embedder {embedder.embedder_id}")  # fmt: skip
    steps = int(round((args.stop - args.start) / args.step)) + 1
    thresholds = [round(args.start + i * args.step, 4) for i in range(steps)]
    for checked in (False, True):
        print(f"\n{'Similarity, then the word checks (as served)' if checked else 'Similarity alone'}:\n")
        print("| threshold | precision | recall | served right | served wrong | wrong, by kind |")
        print("|---:|---:|---:|---:|---:|---|")
        for row in table(pairs, sims, thresholds, checked=checked):
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(row["fp_kinds"].items())) or "-"
            print(f"| {row['threshold']:.2f} | {row['precision']:.3f} | {row['recall']:.3f} | {row['tp']} "
                  f"| {row['fp']} | {kinds} |")  # fmt: skip
    rejected = [p for p in pairs if p["same"] == 1 and different_question(p["a"], p["b"])]
    print(f"\nRewordings the word checks refuse ({len(rejected)}):")
    for p in rejected:
        print(f"  {different_question(p['a'], p['b'])}: {p['a']!r} / {p['b']!r}")
    negatives = sorted(
        (
            (s, p)
            for s, p in zip(sims, pairs, strict=True)
            if p["same"] == 0 and not different_question(p["a"], p["b"])
        ),
        key=lambda x: -x[0],
    )
    positives = sorted(
        ((s, p) for s, p in zip(sims, pairs, strict=True) if p["same"] == 1), key=lambda x: x[0]
    )
    print("\nMost similar different questions the word checks let through:")
    for s, p in negatives[: args.closest]:
        print(f"  {s:.3f}  {p['kind']:<13} {p['a']!r} / {p['b']!r}")
    print("\nLeast similar rewordings:")
    for s, p in positives[: args.closest]:
        print(f"  {s:.3f}  {p['a']!r} / {p['b']!r}")


if __name__ == "__main__":
    main()
