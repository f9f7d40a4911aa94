"""Document extraction throughput: PDF pages/s and Word paragraphs/s through ai_core.rag.extract.

Extraction runs in the indexing worker before any embedding, once per uploaded or replaced file,
so these numbers say how much of "upload to searchable" is reading the file (the rest is
embedding: docs/BENCHMARKS.md "Publish -> searchable latency"). Files are generated here (fpdf2,
python-docx), about 400 words a page like a dense policy document, plus the demo's own
Customer Handbook PDF. Each row is the best of --repeat runs in this one process; "+ chunks" adds
segmenting and chunking for MiniLM's window (no embedding). Run from the repository root:

    .venv/bin/python bench/doc_extract.py [--pages 10 100] [--paragraphs 100 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ai_core.rag.chunking import ChunkingConfig, chunk_segments  # noqa: E402
from ai_core.rag.extract import extract_document, extraction_segments  # noqa: E402
from tests.rag.doc_factories import docx_bytes, pdf_bytes  # noqa: E402

LIMIT = 64 * 1024 * 1024
CONFIG = ChunkingConfig.for_window(256)  # all-MiniLM-L6-v2, the default local embedder

_WORDS = (
    "the customer supplier agreement notice period data retention invoice payment subscription "
    "workspace account owner refund cancellation service level uptime credit support request "
    "personal data processor controller breach report security key password access review "
    "renewal price change termination liability warranty indemnity confidential information"
).split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(10, 22))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def synthetic_pdf(pages: int, *, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    texts = []
    for number in range(1, pages + 1):
        body = [f"## Section {number}"] + [_paragraph(rng, 5) for _ in range(4)]
        texts.append("\n\n".join(body))
    return pdf_bytes(texts, title=f"Synthetic {pages}-page policy")


def synthetic_docx(paragraphs: int, *, seed: int = 11) -> bytes:
    rng = random.Random(seed)
    body: list[tuple[str, object]] = []
    for n in range(paragraphs):
        if n % 10 == 0:
            body.append(("h1" if n % 50 == 0 else "h2", f"Clause {n // 10 + 1}"))
        body.append(("p", _paragraph(rng, 3)))
    return docx_bytes(body, title=f"Synthetic {paragraphs}-paragraph contract")


def demo_handbook() -> tuple[str, bytes] | None:
    try:
        from content.demo_content.documents import demo_documents
    except Exception:  # the demo generator needs the content app's Markdown helper
        return None
    doc = next(d for d in demo_documents() if d.filename.endswith("handbook.pdf"))
    return doc.filename, doc.data


def measure(data: bytes, filename: str, repeat: int) -> dict:
    best_extract = best_total = float("inf")
    result = chunks = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = extract_document(data, filename=filename, max_bytes=LIMIT)
        extracted = time.perf_counter()
        chunks = chunk_segments(extraction_segments(result), title=result.title, config=CONFIG)
        finished = time.perf_counter()
        best_extract = min(best_extract, extracted - started)
        best_total = min(best_total, finished - started)
    assert result is not None and result.status == "ok", (filename, result and result.message)
    paragraphs = sum(1 for b in result.blocks if b.kind != "heading")
    return {
        "file": filename,
        "size": len(data),
        "pages": result.pages,
        "paragraphs": paragraphs,
        "chunks": len(chunks or ()),
        "extract_s": best_extract,
        "total_s": best_total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--paragraphs", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    inputs: list[tuple[str, bytes]] = [(f"synthetic-{n}p.pdf", synthetic_pdf(n)) for n in args.pages]
    if handbook := demo_handbook():
        inputs.append(handbook)
    inputs += [(f"synthetic-{n}para.docx", synthetic_docx(n)) for n in args.paragraphs]
    rows = [measure(data, name, args.repeat) for name, data in inputs]

    load = os.getloadavg()[0]
    print(f"Document extraction, best of {args.repeat} (1 process, load average {load:.1f})\n")
    print(
        "| file | size | pages | paragraphs | chunks | extract (s) | pages/s | paragraphs/s | MB/s "
        "| + chunks (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        pages_s = f"{row['pages'] / row['extract_s']:.0f}" if row["pages"] else "-"
        print(
            f"| {row['file']} | {row['size'] / 1024:.0f} kB | {row['pages'] or '-'} | {row['paragraphs']} "
            f"| {row['chunks']} | {row['extract_s']:.3f} | {pages_s} "
            f"| {row['paragraphs'] / row['extract_s']:.0f} | {row['size'] / row['extract_s'] / 1048576:.2f} "
            f"| {row['total_s']:.3f} |"
        )


if __name__ == "__main__":
    main()
