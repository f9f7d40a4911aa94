"""How fast is the numpy MiniLM on this machine? Load time, sentences/s per batch size, peak RSS.

Local mode embeds every chunk at publish time and every question at ask time, so these numbers
decide whether local mode is usable on a small server. Run from the repository root:

    .venv/bin/python bench/embed_throughput.py [--sentences 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ai_core.providers.local.minilm import LocalMiniLMEmbedder  # noqa: E402

_SUBJECTS = [
    "Visitors",
    "Registered members",
    "The editorial team",
    "Contributors who upload images",
    "Our support staff",
    "Customers in the European Union",
    "Schools and charities",
    "Anyone using the question answering feature",
]
_VERBS = [
    "may request",
    "must not publish",
    "are entitled to",
    "can download",
    "should review",
    "will receive",
    "are asked to confirm",
]
_OBJECTS = [
    "a full refund within 30 days of purchase",
    "personal data about other people without their consent",
    "a copy of the information we hold about them",
    "the accessibility statement before filing a complaint",
    "an answer within 14 working days, giving reasons",
    "material that infringes the intellectual property rights of others",
    "the revised terms, which take effect on 1 March 2025",
    "a summary of each article, generated from its published text",
]
_TAILS = [
    "",
    ", unless the law requires otherwise",
    " (e.g. invoices, receipts or tax records)",
    ", and decisions may be appealed in writing to the policy team",
    "; repeated breaches may lead to the suspension of the account without prior notice",
]


def corpus(n: int) -> list[str]:
    """Policy-like sentences of 8 to 40 word pieces, the size the extractive provider embeds."""
    rng = random.Random(7)
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)}."
        for _ in range(n)
    ]


def throughput(texts: list[str], batch_size: int, repeat: int) -> tuple[float, int]:
    embedder = LocalMiniLMEmbedder(batch_size=batch_size)
    embedder.load()  # shared with the first embedder, so this costs nothing
    best = float("inf")
    tokens = 0
    for _ in range(repeat):
        started = time.perf_counter()
        # Batch size 1 means one call per sentence, as when embedding a question on each request.
        if batch_size == 1:
            tokens = sum(embedder.encode([text])[1] for text in texts)
        else:
            tokens = embedder.encode(texts)[1]
        best = min(best, time.perf_counter() - started)
    return len(texts) / best, round(tokens / best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per row")
    args = parser.parse_args()
    texts = corpus(args.sentences)
    passages = [" ".join(texts[i : i + 8]) for i in range(0, len(texts), 8)]

    started = time.perf_counter()
    LocalMiniLMEmbedder().load()
    load_seconds = time.perf_counter() - started
    load_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(f"cpus={os.cpu_count()} OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(
        f"model load (sha256 check + safetensors + tokenizer): {load_seconds:.2f} s, peak RSS {load_peak_mb:.0f} MB"
    )
    print(f"{'input':<34} {'batch':>5} {'items/s':>9} {'word pieces/s':>14}")
    for batch_size in (1, 8, 32):
        per_second, tokens = throughput(texts, batch_size, args.repeat)
        print(f"{f'{len(texts)} sentences':<34} {batch_size:>5} {per_second:>9.1f} {tokens:>14}")
    per_second, tokens = throughput(passages, 32, args.repeat)
    print(f"{f'{len(passages)} passages (8 sentences each)':<34} {32:>5} {per_second:>9.1f} {tokens:>14}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS overall: {peak_mb:.0f} MB (attention over 32 x 256 word pieces dominates)")


if __name__ == "__main__":
    main()
