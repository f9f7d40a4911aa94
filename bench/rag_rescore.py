"""Rescoring variants over the vector candidates, measured offline per labelled set (issue 15).

    export DATABASE_URL=postgres://lectern:lectern@127.0.0.1:5432/lectern_bench_x   # loaded by rag_sets.py load
    SETS="tests/data/rag_eval.json tests/rag/data/rag_negatives.json tests/data/debian_faq_eval.json \
          tests/data/python_faq_eval.json"
    .venv/bin/python bench/rag_sets.py collect $SETS --out /tmp/features.json
    .venv/bin/python bench/rag_rescore.py prepare $SETS --cache /tmp/rescore     # vectors, once
    .venv/bin/python bench/rag_rescore.py grid /tmp/features.json --cache /tmp/rescore   # no database

``prepare`` reads every chunk (text, heading path, page, position, stored vector) from the
database, embeds every labelled question and every sentence of every chunk with the configured
embedder, and keeps the vectors in ``--cache`` (keyed by text, so a second run embeds only what
is new). ``grid`` then scores each variant from ``rag_sets.py collect``'s candidates, in numpy:
every variant reorders the same 40 vector candidates, starting from the scoring shipped before
(``fusion.lexical_rescore``, TEXT_WEIGHT 0.2, IDF, no neighbours). Cells are MRR@10 / hit@5
over pages. The neighbour-context rows call ``lexical_rescore`` itself (order with the
neighbours, scores unchanged: what ``NEIGHBOUR_WEIGHT`` ships), except "blended into the score".

Variants: sentence-level rescoring (a chunk's best, or best two, query-to-sentence cosines
blended into its similarity), pseudo-relevance feedback (Rocchio: the query moved towards the
mean of the top candidates' vectors, the same candidates re-scored), neighbour context (a
chunk's similarity blended with its page neighbours') and the page-mean cosine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings.dev")


BEFORE = "candidates linear, text 0.2, IDF (shipped before: NEIGHBOUR_WEIGHT 0)"
CHOSEN = "neighbour chunk context (max), blend 0.2"  # NEIGHBOUR_WEIGHT 0.2, shipped


class VectorCache:
    """Embeddings by text, on disk: ``texts.json`` (sha256 -> row) and ``vectors.npy``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        index = directory / "texts.json"
        self.rows: dict[str, int] = json.loads(index.read_text()) if index.exists() else {}
        matrix = directory / "vectors.npy"
        self.matrix = np.load(matrix) if matrix.exists() else np.zeros((0, 384), dtype=np.float32)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def missing(self, texts: list[str]) -> list[str]:
        return list(dict.fromkeys(t for t in texts if self.key(t) not in self.rows))

    def add(self, texts: list[str], vectors) -> None:
        block = np.asarray(vectors, dtype=np.float32)
        for n, text in enumerate(texts):
            self.rows[self.key(text)] = len(self.matrix) + n
        self.matrix = np.vstack([self.matrix, block]) if len(self.matrix) else block
        np.save(self.directory / "vectors.npy", self.matrix)
        (self.directory / "texts.json").write_text(json.dumps(self.rows))

    def get(self, texts: list[str]) -> np.ndarray:
        return self.matrix[[self.rows[self.key(t)] for t in texts]]


def chunk_sentences(text: str) -> list[str]:
    """The sentences index-time sentence vectors would be made of: the chunker's own split, very
    short pieces (a heading, "Yes.") joined to the next one so each has some meaning."""
    from ai_core.rag.chunking import split_sentences

    out: list[str] = []
    carry = ""
    for sentence in split_sentences(text):
        sentence = f"{carry} {sentence}".strip() if carry else sentence
        if len(sentence.split()) < 4:
            carry = sentence
            continue
        out.append(sentence)
        carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def prepare(args) -> None:
    import django

    django.setup()
    from ai_core import providers
    from ai_core.rag.models import KnowledgeChunk
    from content.management.commands.rag_eval import load_labelled_set

    cache = VectorCache(args.cache)
    chunks, vectors = [], []
    for row in KnowledgeChunk.objects.order_by("pk").values(
        "pk", "page_id", "document_id", "position", "title", "heading_path", "text", "embedding"
    ):
        vectors.append(row["embedding"])
        sentences = chunk_sentences(row["text"])
        chunks.append(
            {
                "id": row["pk"],
                "page": row["page_id"] or -(row["document_id"] or 0),
                "position": row["position"],
                "header": " > ".join(p for p in (row["title"], row["heading_path"]) if p),
                "sentences": sentences,
            }
        )
    np.save(args.cache / "chunk_vectors.npy", np.asarray(vectors, dtype=np.float32))
    (args.cache / "chunks.json").write_text(json.dumps(chunks))
    queries = [item["query"] for path in args.files for item in load_labelled_set(path)]
    texts = list(queries)
    for chunk in chunks:
        texts += chunk["sentences"]
        if args.with_header:
            texts += [f"{chunk['header']}: {s}" for s in chunk["sentences"]]
    todo = cache.missing(texts)
    sentences = sum(len(c["sentences"]) for c in chunks)
    print(
        f"{len(chunks)} chunks, {sentences} sentences, {len(queries)} questions; {len(todo)} texts to embed",
        flush=True,
    )
    embedder = providers.embedder()
    started = time.monotonic()
    for start in range(0, len(todo), args.batch):
        part = todo[start : start + args.batch]
        cache.add(part, embedder.embed(part).vectors)
        done = start + len(part)
        print(f"  {done}/{len(todo)} embedded, {done / (time.monotonic() - started):.1f} texts/s", flush=True)
    if todo:
        elapsed = time.monotonic() - started
        print(f"embedding: {elapsed:.1f} s wall for {len(todo)} texts")


def grid(args) -> None:
    from ai_core.rag.fusion import Candidate, lexical_rescore, term_weights

    data = json.loads(args.features.read_text())
    page_of = {int(k): v for k, v in data["page_of"].items()}
    shares = {term: n / data["chunks"] for term, n in data["df"].items()}
    cache = VectorCache(args.cache)
    chunks = json.loads((args.cache / "chunks.json").read_text())
    chunk_matrix = np.load(args.cache / "chunk_vectors.npy")
    row_of = {c["id"]: n for n, c in enumerate(chunks)}
    by_page: dict[int, list[int]] = {}
    for c in sorted(chunks, key=lambda c: (c["page"], c["position"])):
        by_page.setdefault(c["page"], []).append(c["id"])
    neighbours = {}
    for ids in by_page.values():
        for n, pk in enumerate(ids):
            neighbours[pk] = [
                x for x in (ids[n - 1] if n else None, ids[n + 1] if n + 1 < len(ids) else None) if x
            ]
    page_id_of = {c["id"]: c["page"] for c in chunks}
    sentence_vectors = {c["id"]: cache.get(c["sentences"]) for c in chunks if c["sentences"]}
    header_vectors = {}
    if args.with_header:
        header_vectors = {
            c["id"]: cache.get([f"{c['header']}: {s}" for s in c["sentences"]])
            for c in chunks
            if c["sentences"]
        }

    from bench.rag_sets import distinct_pages

    def pages(ids):
        return distinct_pages(ids, page_of)

    def terms_of(run, pk):
        info = run["lex"].get(str(pk)) or {"head": [], "body": []}
        return frozenset(info["body"]) | frozenset(info["head"])

    prepared = {}

    def base(run):
        """Query vector, candidate ids, their cosines, terms and the IDF weights (shipped inputs)."""
        key = id(run)
        if key not in prepared:
            ids = [pk for pk, _ in run["vector"][: args.depth]]
            q = cache.get([run["query"]])[0]
            vectors = chunk_matrix[[row_of[pk] for pk in ids]]
            prepared[key] = {
                "q": q,
                "ids": ids,
                "sim": np.array([s for _, s in run["vector"][: args.depth]]),
                "vectors": vectors,
                "terms": [terms_of(run, pk) for pk in ids],
                "weights": term_weights(run["lexemes"], frequencies=shares),
            }
        return prepared[key]

    def score(p, similarity, text_weight=0.2, near=None, near_weight=0.0):
        candidates = [
            Candidate(id=pk, similarity=float(s), terms=t)
            for pk, s, t in zip(p["ids"], similarity, p["terms"], strict=True)
        ]
        return lexical_rescore(
            candidates,
            weights=p["weights"],
            vector_weight=1.0,
            text_weight=text_weight,
            neighbours=near,
            neighbour_weight=near_weight,
        )

    def sentence_scores(p, source, agg):
        out = []
        for pk, sim in zip(p["ids"], p["sim"], strict=True):
            matrix = source.get(pk)
            if matrix is None or not len(matrix):
                out.append(sim)
                continue
            cos = np.sort(matrix @ p["q"])[::-1]
            out.append(cos[0] if agg == "max" else float(cos[:2].mean()))
        return np.array(out)

    def shipped(run):
        return score(base(run), base(run)["sim"])

    def sentence(beta, agg="max", top=40, source=None):
        def rank(run):
            p = base(run)
            sent = sentence_scores(p, source if source is not None else sentence_vectors, agg)
            blended = (1 - beta) * p["sim"] + beta * sent
            fused = score(p, blended)
            if top >= len(p["ids"]):
                return fused
            first = {f.id for f in shipped(run)[:top]}  # only the shipped top ``top`` are rescored
            return [f for f in fused if f.id in first] + [f for f in shipped(run) if f.id not in first]

        return rank

    def rocchio(alpha, k, then=None):
        def rank(run):
            p = base(run)
            top = [f.id for f in shipped(run)[:k]]
            centroid = chunk_matrix[[row_of[pk] for pk in top]].mean(axis=0)
            moved = p["q"] + alpha * centroid
            moved /= np.linalg.norm(moved)
            similarity = p["vectors"] @ moved
            if then:
                similarity = (1 - then) * similarity + then * sentence_scores(p, sentence_vectors, "max")
            return score(p, similarity)

        return rank

    def neighbour(gamma, agg=max, text_weight=0.2, into_score=False):
        def rank(run):
            p = base(run)
            near = {}
            for pk in p["ids"]:
                found = [float(chunk_matrix[row_of[x]] @ p["q"]) for x in neighbours.get(pk, [])]
                if found:  # a page's only chunk has none and keeps its own cosine
                    near[pk] = float(agg(found))
            if into_score:
                blended = [
                    (1 - gamma) * s + gamma * near.get(pk, s)
                    for pk, s in zip(p["ids"], p["sim"], strict=True)
                ]
                return score(p, blended, text_weight=text_weight)
            return score(p, p["sim"], text_weight=text_weight, near=near, near_weight=gamma)

        return rank

    def neighbour_bonus(gamma):
        """Only ever raises a chunk: towards its best neighbour when that one is closer."""

        def rank(run):
            p = base(run)
            ctx = []
            for pk, sim in zip(p["ids"], p["sim"], strict=True):
                near = [float(chunk_matrix[row_of[x]] @ p["q"]) for x in neighbours.get(pk, [])]
                ctx.append(max(sim, max(near)) if near else sim)
            return score(p, (1 - gamma) * p["sim"] + gamma * np.array(ctx))

        return rank

    def page_mean(gamma):
        def rank(run):
            p = base(run)
            means = []
            for pk in p["ids"]:
                rows = [row_of[x] for x in by_page.get(page_id_of[pk], [pk])]
                means.append(float((chunk_matrix[rows] @ p["q"]).mean()))
            return score(p, (1 - gamma) * p["sim"] + gamma * np.array(means))

        return rank

    variants = {
        "vector only": lambda run: score(base(run), base(run)["sim"], text_weight=0.0),
        BEFORE: shipped,
    }
    for beta in (0.2, 0.3, 0.5, 0.7, 1.0):
        variants[f"sentence max, blend {beta}"] = sentence(beta)
    for beta in (0.3, 0.5, 0.7):
        variants[f"sentence top-2 mean, blend {beta}"] = sentence(beta, agg="top2")
    for top in (10, 20):
        variants[f"sentence max, blend 0.5, top {top} only"] = sentence(0.5, top=top)
    if header_vectors:
        for beta in (0.3, 0.5, 0.7):
            variants[f"sentence max with header, blend {beta}"] = sentence(beta, source=header_vectors)
    for alpha in (0.1, 0.25, 0.5, 1.0):
        for k in (1, 3, 5, 10):
            variants[f"Rocchio alpha {alpha}, k {k}"] = rocchio(alpha, k)
    for gamma in (0.1, 0.15, 0.2, 0.25, 0.3):
        variants[f"neighbour chunk context (max), blend {gamma}"] = neighbour(gamma)
    for gamma in (0.2, 0.3):
        variants[f"neighbour chunk context (mean), blend {gamma}"] = neighbour(gamma, agg=np.mean)
    variants["neighbour chunk context (max), blend 0.2, blended into the score"] = neighbour(
        0.2, into_score=True
    )
    for gamma in (0.2, 0.3, 0.5):
        variants[f"neighbour bonus only (max), blend {gamma}"] = neighbour_bonus(gamma)
    for weight in (0.15, 0.3):
        variants[f"neighbour chunk context (max), blend 0.2, text {weight}"] = neighbour(
            0.2, text_weight=weight
        )
    for gamma in (0.1, 0.2, 0.3):
        variants[f"page-mean cosine, blend {gamma}"] = page_mean(gamma)
    for alpha, k, then in ((0.25, 3, 0.5), (0.5, 5, 0.5)):
        variants[f"Rocchio alpha {alpha}, k {k} + sentence max blend {then}"] = rocchio(alpha, k, then)
    if args.only:
        variants = {
            n: v
            for n, v in variants.items()
            if any(s in n for s in args.only) or n in ("vector only", BEFORE, CHOSEN)
        }

    sets = {name: [r for r in runs if r["relevant"]] for name, runs in data["sets"].items()}
    sets = {name: runs for name, runs in sets.items() if runs}
    sanity = max(
        abs(float(base(r)["vectors"][0] @ base(r)["q"]) - r["vector"][0][1])
        for runs in sets.values()
        for r in runs
    )
    print(f"(cached vectors against the database's cosines: max difference {sanity:.2e})\n")
    print("| variant | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    results = {}
    for name, rank in variants.items():
        cells = []
        for set_name, runs in sets.items():
            reciprocal = hit5 = 0.0
            for run in runs:
                found = pages([f.id for f in rank(run)])[:10]
                place = next((i for i, slug in enumerate(found, start=1) if slug in run["relevant"]), None)
                reciprocal += 1 / place if place else 0.0
                hit5 += bool(place and place <= 5)
            results[(name, set_name)] = (reciprocal / len(runs), hit5 / len(runs))
            cells.append(f"{reciprocal / len(runs):.3f} / {hit5 / len(runs):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)

    for name in args.compare if args.compare is not None else [CHOSEN]:
        print(f"\n{name} against the shipped scoring: questions whose relevant page moved up / down")
        for set_name, runs in sets.items():
            up = down = 0
            for run in runs:
                places = []
                for rank in (variants[BEFORE], variants[name]):
                    found = pages([f.id for f in rank(run)])
                    places.append(next((i for i, slug in enumerate(found) if slug in run["relevant"]), 999))
                up += places[1] < places[0]
                down += places[1] > places[0]
            print(f"  {set_name}: {up} up, {down} down of {len(runs)}")

    for name in args.floors_for if args.floors_for is not None else [BEFORE, CHOSEN]:
        rank = variants[name]
        print(f"\nMinimum score sweep, {name}: answerable kept, unanswerable rejected")
        for floor in args.floors:
            cells = []
            for set_name, runs in data["sets"].items():
                top = [(bool(r["relevant"]), rank(r)) for r in runs]
                # As ``retrieve``: answered when any candidate clears the floor (the order is not by score).
                best = [(positive, max((x.score for x in f), default=0.0)) for positive, f in top]
                kept = sum(1 for positive, b in best if positive and b >= floor)
                rejected = sum(1 for positive, b in best if not positive and b < floor)
                positives = sum(1 for positive, _ in top if positive)
                cells.append(
                    f"{set_name}: {kept}/{positives} kept, {rejected}/{len(top) - positives} rejected"
                )
            print(f"  {floor:.2f}  " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser(
        "prepare", help="embed questions and chunk sentences into --cache (needs the database)"
    )
    prep.add_argument("files", nargs="+", type=Path)
    prep.add_argument("--cache", type=Path, required=True)
    prep.add_argument("--batch", type=int, default=128)
    prep.add_argument("--with-header", action="store_true", help="also embed 'title > heading: sentence'")
    scorer = sub.add_parser("grid", help="score the rescoring variants per set (no database)")
    scorer.add_argument("features", type=Path)
    scorer.add_argument("--cache", type=Path, required=True)
    scorer.add_argument("--depth", type=int, default=40, help="vector candidates rescored per question")
    scorer.add_argument("--with-header", action="store_true")
    scorer.add_argument("--only", nargs="*", help="variants whose name contains one of these")
    scorer.add_argument("--compare", nargs="*", help="variant names to count questions moved up/down")
    scorer.add_argument("--floors-for", nargs="*", help="variant names to sweep MIN_SCORE for")
    scorer.add_argument("--floors", type=float, nargs="+", default=[0.25, 0.28, 0.3, 0.32, 0.35, 0.4])
    args = parser.parse_args()
    if args.command == "grid":
        import django

        django.setup()  # fusion is pure, but importing ai_core.rag runs its package init
    {"prepare": prepare, "grid": grid}[args.command](args)


if __name__ == "__main__":
    main()
