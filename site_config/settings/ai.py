"""The AI_CORE namespace: providers, model routing, prices and limits. Read only through ai_core.conf.

With no API key in the environment the site runs end to end on the offline local provider.
"""

from pathlib import Path

import environ

env = environ.Env()
BASE_DIR = Path(__file__).resolve().parent.parent.parent

ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")

# Explicit client timeouts (seconds): never the SDKs' 10-minute defaults.
_TIMEOUT = {
    "connect": env.float("AI_TIMEOUT_CONNECT", default=5.0),
    "read": env.float("AI_TIMEOUT_READ", default=60.0),
    "write": env.float("AI_TIMEOUT_WRITE", default=10.0),
    "pool": env.float("AI_TIMEOUT_POOL", default=5.0),
}

_generation = {
    "local": {
        "CLASS": "ai_core.providers.local.LocalExtractiveProvider",
        # Its own numpy MiniLM ranks sentences; same thread setting as the local embedders below.
        "OPTIONS": {"embedder_threads": env.int("AI_LOCAL_EMBEDDER_THREADS", default=None)},
    },
}
# Two offline embedders of all-MiniLM-L6-v2, each with its own embedder id (switching re-embeds):
# "local" (float32, numpy; the default without an OpenAI key) and "local-onnx" (int8, onnxruntime).
# On two quiet cores the int8 one embeds 1.55x the passages and 1.97x the sentences per second of
# numpy (both using both cores), short of the 1.8x a switch needs, and loses 0.0055 MRR@10 on the
# demo set, past the 0.005 allowed (docs/BENCHMARKS.md, "Embedding throughput").
_embedders = {
    "local": {
        "CLASS": "ai_core.providers.local.LocalMiniLMEmbedder",
        # Batches computed at once per process; unset: one per CPU the process may use.
        "OPTIONS": {"threads": env.int("AI_LOCAL_EMBEDDER_THREADS", default=None)},
    },
    "local-onnx": {
        "CLASS": "ai_core.providers.local.OnnxMiniLMEmbedder",
        # onnxruntime intra-op threads per process; unset: one per CPU the process may use.
        "OPTIONS": {"threads": env.int("AI_LOCAL_EMBEDDER_THREADS", default=None)},
    },
}
if ANTHROPIC_API_KEY:
    _generation["anthropic"] = {
        "CLASS": "ai_core.providers.anthropic.AnthropicProvider",
        "OPTIONS": {
            "api_key": ANTHROPIC_API_KEY,
            "base_url": env("ANTHROPIC_BASE_URL", default=None),
            "timeout": _TIMEOUT,
            "max_retries": 0,  # the fallback chain retries, not the SDK
        },
    }
if OPENAI_API_KEY or env("OPENAI_BASE_URL", default=""):
    _openai_options = {
        "api_key": OPENAI_API_KEY or "not-needed",
        "base_url": env("OPENAI_BASE_URL", default=None),
        "timeout": _TIMEOUT,
        "max_retries": 0,
    }
    _generation["openai"] = {"CLASS": "ai_core.providers.openai.OpenAIProvider", "OPTIONS": _openai_options}
    if OPENAI_API_KEY:
        _embedders["openai"] = {
            "CLASS": "ai_core.providers.openai.OpenAIEmbedder",
            "OPTIONS": {**_openai_options, "batch_size": env.int("AI_EMBEDDING_BATCH_SIZE", default=128)},
        }

_default_generation = "anthropic" if ANTHROPIC_API_KEY else ("openai" if "openai" in _generation else "local")

AI_CORE: dict = {
    "GENERATION_PROVIDERS": _generation,
    "EMBEDDERS": _embedders,
    "DEFAULT_GENERATION_PROVIDER": env("AI_GENERATION_PROVIDER", default=_default_generation),
    "DEFAULT_EMBEDDER": env("AI_EMBEDDER", default="openai" if "openai" in _embedders else "local"),
    # Tier -> concrete model, per provider alias. Prompts name a tier (or, rarely, a model).
    "MODEL_TIERS": {
        # claude-sonnet-4-5 reaches end of life on 2026-11-30 and claude-opus-4-5 on 2027-01-22
        # (the anthropic SDK's deprecation table), so the tiers use their successors.
        "anthropic": {"small": "claude-haiku-4-5", "medium": "claude-sonnet-4-6", "large": "claude-opus-4-8"},
        "openai": {
            "small": env("OPENAI_MODEL_SMALL", default="gpt-4o-mini"),
            "medium": env("OPENAI_MODEL_MEDIUM", default="gpt-4o-mini"),
            "large": env("OPENAI_MODEL_LARGE", default="gpt-4o"),
        },
        "local": {"small": "extractive-minilm", "medium": "extractive-minilm", "large": "extractive-minilm"},
    },
    # USD per million tokens, applied when a usage row is written (history is never re-priced).
    # Anthropic: cache writes 1.25x input (5-minute TTL), cache reads 0.1x input.
    "PRICES": {
        "claude-haiku-4-5": {"input": "1.00", "output": "5.00", "cache_read": "0.10", "cache_write": "1.25"},
        "claude-sonnet-4-5": {
            "input": "3.00",
            "output": "15.00",
            "cache_read": "0.30",
            "cache_write": "3.75",
        },
        "claude-opus-4-5": {"input": "5.00", "output": "25.00", "cache_read": "0.50", "cache_write": "6.25"},
        "claude-sonnet-4-6": {
            "input": "3.00",
            "output": "15.00",
            "cache_read": "0.30",
            "cache_write": "3.75",
        },
        "claude-opus-4-8": {"input": "5.00", "output": "25.00", "cache_read": "0.50", "cache_write": "6.25"},
        "gpt-4o-mini": {"input": "0.15", "output": "0.60", "cache_read": "0.075", "cache_write": "0.15"},
        "gpt-4o": {"input": "2.50", "output": "10.00", "cache_read": "1.25", "cache_write": "2.50"},
        "text-embedding-3-small": {"input": "0.02", "output": "0", "cache_read": "0", "cache_write": "0"},
        "extractive-minilm": {"input": "0", "output": "0", "cache_read": "0", "cache_write": "0"},
        "all-MiniLM-L6-v2": {"input": "0", "output": "0", "cache_read": "0", "cache_write": "0"},
        "all-MiniLM-L6-v2-onnx-int8": {"input": "0", "output": "0", "cache_read": "0", "cache_write": "0"},
    },
    "PROMPTS_DIR": BASE_DIR / "prompts",
    # The live (published) prompt snippet wins over the YAML default; cached per process and
    # re-checked against a Redis stamp at most this often, so a publish reaches every process in ~1 s.
    "PROMPT_SOURCE": "ai_core.live_prompts.source.live_prompt",
    "LIVE_PROMPT_CHECK_SECONDS": env.float("AI_LIVE_PROMPT_CHECK_SECONDS", default=1.0),
    # The admin's live preview of a prompt (rendered with its golden-case inputs).
    "PROMPT_PREVIEW_TEMPLATE": "ai_core/admin/prompt_preview.html",
    # Celery limits for a golden-case run (several provider calls in a row).
    "PROMPT_EVAL_SOFT_TIME_LIMIT": env.int("AI_PROMPT_EVAL_SOFT_TIME_LIMIT", default=300),
    "PROMPT_EVAL_TIME_LIMIT": env.int("AI_PROMPT_EVAL_TIME_LIMIT", default=330),
    # Request API limits.
    "MAX_PAYLOAD_BYTES": env.int("AI_MAX_PAYLOAD_BYTES", default=16_384),
    # Prompt keys anonymous visitors may submit (everything else needs a logged-in user).
    "ANONYMOUS_PROMPTS": ["rag_answer"],
    # The site and language a question is asked from (the content app knows sites; ai_core only calls this).
    "REQUEST_SCOPE": "content.visibility.ask_scope_resolve",
    # Celery limits for generation tasks; the soft limit lets the task record a clean failure.
    "TASK_SOFT_TIME_LIMIT": env.int("AI_TASK_SOFT_TIME_LIMIT", default=90),
    "TASK_TIME_LIMIT": env.int("AI_TASK_TIME_LIMIT", default=120),
    "TASK_MAX_RETRIES": env.int("AI_TASK_MAX_RETRIES", default=3),
    # Provider calls must end this long before the soft limit, so the task records its own result.
    "TASK_DEADLINE_MARGIN_S": env.float("AI_TASK_DEADLINE_MARGIN_S", default=1.0),
    # Requests whose task message was lost (ai_core/services/recovery.py, a beat task): PENDING this
    # long is queued again; PROCESSING silent past the hard limit plus the broker's visibility
    # timeout (600 s) is queued again; either, this old, fails as "expired" and settles its budget.
    "RECOVERY": {
        "REQUEUE_AFTER_S": env.int("AI_RECOVERY_REQUEUE_AFTER_S", default=120),
        "PROCESSING_SILENT_AFTER_S": env.int("AI_RECOVERY_PROCESSING_SILENT_AFTER_S", default=900),
        "EXPIRE_AFTER_S": env.int("AI_RECOVERY_EXPIRE_AFTER_S", default=3600),
    },
    # Answer streams (SSE) open at once, per session (or signed-in user) and per client address
    # (ai_core.clients.client_key: an IPv6 /64, the proxy-forwarded address from a trusted proxy).
    # Past either: 429 with Retry-After. A stream is open only while its answer is generated.
    "STREAMS": {
        "MAX_PER_SESSION": env.int("AI_STREAMS_MAX_PER_SESSION", default=4),
        "MAX_PER_CLIENT": env.int("AI_STREAMS_MAX_PER_CLIENT", default=20),
        "LEASE_S": env.int("AI_STREAMS_LEASE_S", default=30),
        "MAX_OPEN_S": env.int("AI_STREAMS_MAX_OPEN_S", default=300),
        "RETRY_AFTER_S": env.int("AI_STREAMS_RETRY_AFTER_S", default=5),
    },
}

# --- Cost and resilience (budgets, caches, fallbacks, circuit breakers).
_SITE_DAILY_TOKENS = env.int("AI_BUDGET_SITE_DAILY_TOKENS", default=5_000_000)
AI_CORE.update(
    {
        # Namespace for budgets, caches, breakers and rate limits in the shared Redis.
        "REDIS_PREFIX": env("AI_REDIS_PREFIX", default="lectern"),
        "BUDGETS": {
            "USER_DAILY_TOKENS": env.int("AI_BUDGET_USER_DAILY_TOKENS", default=200_000),
            "ANON_DAILY_TOKENS": env.int("AI_BUDGET_ANON_DAILY_TOKENS", default=20_000),
            # Per client IP across sessions, so dropping cookies does not reset a visitor's budget.
            "ANON_IP_DAILY_TOKENS": env.int("AI_BUDGET_ANON_IP_DAILY_TOKENS", default=100_000),
            # The ceiling for everything together, and (below) one pool per kind of asker, each
            # with its own limit: a crowd of anonymous visitors can empty its pool, never the
            # tokens kept for signed-in users or for the site's own work (summaries, evaluations).
            # Pools default to shares of the ceiling that add up to it (30 / 50 / 20 %).
            "SITE_DAILY_TOKENS": _SITE_DAILY_TOKENS,
            "POOL_DAILY_TOKENS": {
                "anonymous": env.int(
                    "AI_BUDGET_ANON_POOL_DAILY_TOKENS", default=_SITE_DAILY_TOKENS * 3 // 10
                ),
                "user": env.int("AI_BUDGET_USER_POOL_DAILY_TOKENS", default=_SITE_DAILY_TOKENS // 2),
                "system": env.int("AI_BUDGET_SYSTEM_POOL_DAILY_TOKENS", default=_SITE_DAILY_TOKENS // 5),
            },
            # Past this share of any budget, requests are routed to the cheaper tier instead of refused.
            "SOFT_LIMIT_SHARE": env.float("AI_BUDGET_SOFT_LIMIT_SHARE", default=0.8),
            # Estimated tokens of retrieved context for prompts that take sources.
            "CONTEXT_ALLOWANCE_TOKENS": env.int("AI_BUDGET_CONTEXT_ALLOWANCE_TOKENS", default=1_500),
        },
        # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated in
        # the environment). Empty: the header is ignored and the peer's address is the client's.
        # Limits count the right-most forwarded address that is not one of these (ai_core/clients.py).
        "TRUSTED_PROXIES": env.list("LECTERN_TRUSTED_PROXIES", default=[]),
        # Page summaries refused for budget, or stale after a re-index, are requested again by a beat
        # task every minute: at most BATCH per run, charged to the system pool.
        "SUMMARY_CATCH_UP": {"BATCH": env.int("AI_SUMMARY_CATCH_UP_BATCH", default=20)},
        # Anonymous request rate limit (per session and per IP), on top of token budgets.
        "ANON_RATE_LIMIT": {
            "REQUESTS": env.int("AI_ANON_RATE_LIMIT_REQUESTS", default=10),
            "PER_SECONDS": env.int("AI_ANON_RATE_LIMIT_SECONDS", default=60),
        },
        "RESPONSE_CACHE_TTL": env.int("AI_RESPONSE_CACHE_TTL", default=3_600),
        # A longer-lived copy served only when every provider in the chain has failed.
        "RESPONSE_CACHE_FALLBACK_TTL": env.int("AI_RESPONSE_CACHE_FALLBACK_TTL", default=7 * 24 * 3_600),
        # Anthropic's minimum cacheable prefix per model (tokens); shorter prefixes are not marked.
        "PROMPT_CACHE_MIN_TOKENS": {
            "claude-sonnet-4-5": 1_024,
            "claude-haiku-4-5": 4_096,
            "claude-opus-4-5": 4_096,
            "claude-sonnet-4-6": 2_048,
            "claude-opus-4-8": 1_024,
            "default": 1_024,
        },
        "CIRCUIT_BREAKER": {
            "THRESHOLD": env.int("AI_BREAKER_THRESHOLD", default=5),
            "WINDOW_S": env.float("AI_BREAKER_WINDOW_S", default=60.0),
            "COOLDOWN_S": env.float("AI_BREAKER_COOLDOWN_S", default=30.0),
        },
        # Explicit chains per tier, e.g. {"medium": [{"provider": "anthropic", "tier": "medium"}, ...]};
        # empty means automatic: primary tier -> primary cheaper tier -> other providers -> local.
        "FALLBACK_CHAINS": {},
        "FALLBACK_TO_LOCAL": env.bool("AI_FALLBACK_TO_LOCAL", default=True),
    }
)

# --- Retrieval (RAG): chunking, hybrid search and the context builders that use it.
# Values tuned on our demo set and two third-party FAQ sets (tests/data/README.md); the
# measurements are in docs/BENCHMARKS.md ("Retrieval quality and tuning").
AI_CORE.update(
    {
        "RETRIEVAL": {
            # "candidates": lexical evidence over the vector candidates; "full_text": the older
            # second full-text query fused by RRF (then TEXT_WEIGHT 0.8, RRF_K 120, MIN_SCORE 0.3).
            "LEXICAL": env("AI_RETRIEVAL_LEXICAL", default="candidates"),
            "VECTOR_WEIGHT": env.float("AI_RETRIEVAL_VECTOR_WEIGHT", default=1.0),
            "TEXT_WEIGHT": env.float("AI_RETRIEVAL_TEXT_WEIGHT", default=0.2),
            "RRF_K": env.int("AI_RETRIEVAL_RRF_K", default=120),
            "MAX_TERM_FREQUENCY": env.float("AI_RETRIEVAL_MAX_TERM_FREQUENCY", default=1.0),
            # Order candidates with their page neighbours' cosine too (scores unchanged); 0: off.
            "NEIGHBOUR_WEIGHT": env.float("AI_RETRIEVAL_NEIGHBOUR_WEIGHT", default=0.2),
            "TOP_K": env.int("AI_RETRIEVAL_TOP_K", default=6),
            # Tuned for the local MiniLM embedders; another embedder needs its own sweep.
            "MIN_SCORE": env.float("AI_RETRIEVAL_MIN_SCORE", default=0.32),
            "CANDIDATES": env.int("AI_RETRIEVAL_CANDIDATES", default=40),
            "EF_SEARCH": env.int("AI_RETRIEVAL_EF_SEARCH", default=200),
            # The breadth while the question's site+locale has its own index (rag_scope_indexes).
            "SCOPE_EF_SEARCH": env.int("AI_RETRIEVAL_SCOPE_EF_SEARCH", default=60),
            # pgvector iterative index scans: a site/locale-filtered search still fills its list.
            "ITERATIVE_SCAN": env("AI_RETRIEVAL_ITERATIVE_SCAN", default="relaxed_order"),
            "MAX_SCAN_TUPLES": env.int("AI_RETRIEVAL_MAX_SCAN_TUPLES", default=20_000),
            # Nothing in the asker's locale: search the default locale instead (ai_core/rag/conf.py).
            "LOCALE_FALLBACK": env.bool("AI_RETRIEVAL_LOCALE_FALLBACK", default=True),
            # Query-time re-check that every page about to be cited is still live, public and on
            # the asker's site (the content app knows pages; ai_core only calls this).
            "PAGE_ACCESS_CHECK": "content.visibility.visible_page_ids",
            # The same for documents of the site's library (collection privacy, collection sites).
            "DOCUMENT_ACCESS_CHECK": "content.documents.visibility.visible_document_keys",
        },
        # Files larger than this (document library, S3) are not read for indexing ("too large").
        "DOCUMENTS": {"MAX_BYTES": env.int("AI_DOCUMENTS_MAX_BYTES", default=10 * 1024 * 1024)},
        "CONTEXT_BUILDERS": {
            "rag_answer": "ai_core.rag.context.rag_answer_context",
            "page_summary": "ai_core.rag.context.page_summary_context",
        },
    }
)

# --- Privacy of visitors' questions (ai_core/privacy): contact details masked before a question is
# stored, and a retention period after which requests are anonymised or deleted.
AI_CORE.update(
    {
        "PRIVACY": {
            # Days a visitor's question, its answer and who asked are kept; None (the default) keeps
            # them. Requests awaiting review, behind an active approved answer, still pending in the
            # review queue (RETENTION_KEEP) or made by the site itself (page summaries) are kept.
            "RETENTION_DAYS": env.int("AI_RETENTION_DAYS", default=None),
            # "anonymise" keeps the row for cost and volume reports; "delete" removes it.
            "RETENTION_ACTION": env("AI_RETENTION_ACTION", default="anonymise"),
            "RETENTION_KEEP": "review.retention.retained_request_ids",
            # E-mail addresses and phone numbers in these prompts' input are replaced before the
            # request is stored, so neither the database nor the model ever has them; [] keeps them.
            "MASK_CONTACT_DETAILS": env.list("AI_MASK_CONTACT_DETAILS", default=["rag_answer"]),
        },
    }
)

# --- Human review (the review app): which outputs wait for a legal reviewer before anyone sees them.
AI_CORE.update(
    {
        # Runs in the worker after generation; flagged outputs are stored as "awaiting_review".
        "OUTPUT_GATE": "review.gate.review_gate",
        # Checks each completed sentence of a streamed "on_flag" answer before it is sent.
        "STREAM_GATE": "review.gate.stream_gate",
        # Approved answers (ai_core/answers): a later question in the same scope close enough to an
        # approved one is answered with the approved text, at zero tokens, while every passage it
        # cites is unchanged and still public. MIN_SIMILARITY is tuned for precision on
        # tests/data/paraphrase_pairs.json (docs/BENCHMARKS.md, "Approved-answer reuse threshold").
        "ANSWER_REUSE": "ai_core.answers.reuse.approved_answer_match",
        "APPROVED_ANSWERS": {
            "REUSE": env.bool("AI_APPROVED_ANSWER_REUSE", default=True),
            "PROMPTS": ["rag_answer"],
            "MIN_SIMILARITY": env.float("AI_APPROVED_ANSWER_MIN_SIMILARITY", default=0.9),
            "CANDIDATES": 5,
        },
        "REVIEW": {
            # Rule switches by reason code. A "review_policy: always" prompt is held whatever these say.
            "RULES": {
                "high_stakes_prompt": True,
                "empty_output": True,
                "output_too_long": True,
                "refusal": True,
                "professional_referral": True,
                "unknown_citation": True,
                "personal_data": True,
                # Figures (amounts, durations, dates, ...) checked against the passages each sentence cites.
                "contradicted_figure": env.bool("AI_REVIEW_CONTRADICTED_FIGURE", default=True),
                "unsupported_figure": env.bool("AI_REVIEW_UNSUPPORTED_FIGURE", default=True),
                "weak_grounding": env.bool("AI_REVIEW_WEAK_GROUNDING", default=True),
            },
            # Weak grounding: a sentence is supported when this share of its content words occurs in
            # the sources it cites; the answer is held when more than MAX_UNSUPPORTED_SHARE of its
            # sentences are not.
            "MIN_SENTENCE_SUPPORT": env.float("AI_REVIEW_MIN_SENTENCE_SUPPORT", default=0.5),
            "MAX_UNSUPPORTED_SHARE": env.float("AI_REVIEW_MAX_UNSUPPORTED_SHARE", default=0.0),
            "MIN_SENTENCE_TOKENS": 4,
            "MAX_OUTPUT_CHARS": env.int("AI_REVIEW_MAX_OUTPUT_CHARS", default=6_000),
            "HIGH_PRIORITY_REASONS": ["high_stakes_prompt", "personal_data", "contradicted_figure"],
            "LOW_PRIORITY_REASONS": ["empty_output", "refusal"],
            # New high-priority items are mailed to reviewers at most once per window.
            "EMAIL_BATCH_SECONDS": env.int("AI_REVIEW_EMAIL_BATCH_SECONDS", default=300),
            # Pending longer than this: escalated (high priority, mailed) by the beat task.
            "ESCALATE_AFTER_MINUTES": env.int("AI_REVIEW_ESCALATE_AFTER_MINUTES", default=24 * 60),
            # Whether admin users without the review permissions may see (never decide on) the queue.
            "EDITORS_CAN_VIEW": env.bool("AI_REVIEW_EDITORS_CAN_VIEW", default=True),
        },
    }
)

# --- Budget alerts: past a daily cost (USD, UTC day) a prompt key or user raises one admin banner
# and one email per day. Amounts are strings; an empty value switches that scope off.
AI_CORE.update(
    {
        "ALERTS": {
            "DAILY_COST_USD": {
                # "default" covers every prompt key not listed.
                "PER_PROMPT_KEY": {
                    "default": env("AI_ALERT_PROMPT_DAILY_COST_USD", default="5.00"),
                    "rag_answer": env("AI_ALERT_RAG_ANSWER_DAILY_COST_USD", default="20.00"),
                },
                "PER_USER": env("AI_ALERT_USER_DAILY_COST_USD", default="2.00"),
            },
            # Email addresses, or the name of a group whose members are mailed. Empty: everyone who
            # may manage budget alerts (superusers and holders of "budgets.change_budgetalert").
            "RECIPIENTS": env.list("AI_ALERT_RECIPIENTS", default=[]),
        },
    }
)

# --- S3 ingest (manage.py ingest_s3, the rag.ingest_s3 task): what may be read and how it is cited.
AI_CORE.update(
    {
        "S3_INGEST": {
            # "bucket" or "bucket/folder/" entries; nothing outside them is ever ingested. Empty: no
            # ingest at all, so a typo in --prefix can never index a whole bucket of internal files.
            "ALLOWED_PREFIXES": env.list("AI_S3_INGEST_ALLOWED_PREFIXES", default=[]),
            # How an object proves it is public: "acl" (a READ grant to AllUsers) or "tag" (the object
            # tag PUBLIC_TAG, e.g. "public=true", for buckets with ACLs disabled). Others are skipped.
            "PUBLIC_BY": env("AI_S3_INGEST_PUBLIC_BY", default="acl"),
            "PUBLIC_TAG": env("AI_S3_INGEST_PUBLIC_TAG", default="public=true"),
            # Citations link to <base>/<key>: where visitors read the object (a CDN or website
            # endpoint), never the internal S3 endpoint the worker reads from. Required.
            "PUBLIC_URL_BASE": env("AI_S3_INGEST_PUBLIC_URL_BASE", default=""),
            # A run holds a Redis lease on its bucket+prefix, renewed while it works; a redelivered
            # message finds it held and stops. A killed worker's lease lapses after this long.
            "LEASE_SECONDS": env.int("AI_S3_INGEST_LEASE_SECONDS", default=60),
        },
    }
)
