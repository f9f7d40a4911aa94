"""The extractive provider may only quote its sources, cite them, or admit it doesn't know."""

from __future__ import annotations

import re

import pytest

from ai_core.providers.base import GenerationProvider, GenerationRequest, Message, Source
from ai_core.providers.errors import ProviderBadRequest
from ai_core.providers.local.extractive import LABEL, NO_ANSWER, LocalExtractiveProvider
from ai_core.providers.local.minilm import LocalMiniLMEmbedder
from ai_core.providers.local.text import count_words, split_sentences

SOURCES = [
    Source(
        number=1,
        chunk_id="refunds-0",
        title="Refund policy",
        text="Refund policy.\n\nCustomers may request a full refund within 30 days of purchase. "
        "Refunds are paid to the original payment method, e.g. a credit card, within 5 working days. "
        "Digital downloads cannot be refunded once they have been opened.",
    ),
    Source(
        number=2,
        chunk_id="privacy-0",
        title="Privacy notice",
        text="We keep personal data for no longer than 24 months after an account is closed. "
        "You can ask for a copy of your data at any time by writing to privacy@example.org. "
        "Our offices are in Manchester and Leeds.",
    ),
    Source(
        number=3,
        chunk_id="hours-0",
        title="Opening hours",
        text="The library opens at 9 a.m. on weekdays and closes at 6 p.m. "
        "On Saturdays it opens from 10 a.m. to 4 p.m. It is closed on Sundays and public holidays.",
    ),
]
SOURCE_SENTENCES = {sentence for source in SOURCES for sentence in split_sentences(source.text)}
CITED = re.compile(r"(.+?) \[(\d+)\](?: |$)")


@pytest.fixture(scope="module")
def provider() -> LocalExtractiveProvider:
    return LocalExtractiveProvider(embedder=LocalMiniLMEmbedder())


def _request(task: str = "answer", question: str = "", **kwargs) -> GenerationRequest:
    kwargs.setdefault("sources", SOURCES)
    kwargs.setdefault("max_tokens", 400)
    return GenerationRequest(
        model="extractive-minilm",
        system="Answer only from the sources.",
        messages=[Message(role="user", content=question)],
        task=task,
        **kwargs,
    )


def _cited(text: str) -> list[tuple[str, int]]:
    pairs = [(m.group(1), int(m.group(2))) for m in CITED.finditer(text)]
    assert " ".join(f"{s} [{n}]" for s, n in pairs) == text, "output is not only cited sentences"
    return pairs


# -- sentence splitting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Use a form, e.g. Form 12. Then wait.", ["Use a form, e.g. Form 12.", "Then wait."]),
        ("That is, i.e. The Board decides.", ["That is, i.e. The Board decides."]),
        ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
        ("It costs 1.5 million. That is a lot.", ["It costs 1.5 million.", "That is a lot."]),
        ("See section 3.2.1 of v2.0 today.", ["See section 3.2.1 of v2.0 today."]),
        ("Written by J. R. R. Tolkien. Published 1954.", ["Written by J. R. R. Tolkien.", "Published 1954."]),
        ("Approx. ten people came. Most left.", ["Approx. ten people came.", "Most left."]),
        (
            "Mail info@example.org. Or visit example.org today.",
            ["Mail info@example.org.", "Or visit example.org today."],
        ),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Wait... what? Yes.", ["Wait... what?", "Yes."]),
        ("Open at 9 a.m. Closed at 6 p.m. on Fridays.", ["Open at 9 a.m.", "Closed at 6 p.m. on Fridays."]),
        ("The U.S. Supreme Court ruled.", ["The U.S. Supreme Court ruled."]),
        ("Heading\n\nBody text here.", ["Heading", "Body text here."]),
        ("Rules:\n- No food.\n- No dogs\n1. Be kind", ["Rules:", "No food.", "No dogs", "Be kind"]),
        ("A line\nwrapped mid sentence.", ["A line wrapped mid sentence."]),
        ("Straße gesperrt. Öffnung morgen.", ["Straße gesperrt.", "Öffnung morgen."]),
        ("東京は首都です。大阪は都市です。", ["東京は首都です。", "大阪は都市です。"]),
        ("1. Scope of this policy", ["Scope of this policy"]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_count_words_counts_words_and_punctuation() -> None:
    assert count_words("Hello, world [1]") == 6
    assert count_words("") == 0


# -- provider ----------------------------------------------------------------------------------------


def test_provider_satisfies_the_protocol() -> None:
    provider = LocalExtractiveProvider(alias="offline")
    assert isinstance(provider, GenerationProvider)
    assert provider.label == LABEL == "local mode, extractive, no language model"
    assert provider.alias == "offline"


def test_default_embedder_is_built_lazily_and_loads_nothing_up_front() -> None:
    provider = LocalExtractiveProvider()
    assert provider._embedder is None
    assert isinstance(provider.embedder, LocalMiniLMEmbedder)
    assert not provider.embedder.is_loaded


def test_answer_quotes_the_relevant_sentence_with_its_citation(provider: LocalExtractiveProvider) -> None:
    result = provider.generate(_request(question="How long is my personal data kept?"))
    pairs = _cited(result.text)
    assert ("We keep personal data for no longer than 24 months after an account is closed.", 2) in pairs
    assert all(sentence in SOURCE_SENTENCES for sentence, _ in pairs)
    assert (result.provider, result.model, result.usage.input_tokens > 0) == (
        "local",
        "extractive-minilm",
        True,
    )
    assert result.usage.output_tokens == count_words(result.text)


def test_answer_is_in_source_order_and_at_most_four_sentences(provider: LocalExtractiveProvider) -> None:
    result = provider.generate(_request(question="Can I get my money back for an ebook I downloaded?"))
    pairs = _cited(result.text)
    assert 1 <= len(pairs) <= 4
    assert "Digital downloads cannot be refunded once they have been opened." in [s for s, _ in pairs]
    positions = [(n, split_sentences(SOURCES[n - 1].text).index(s)) for s, n in pairs]
    assert positions == sorted(positions)


def test_headings_are_not_offered_as_answers(provider: LocalExtractiveProvider) -> None:
    result = provider.generate(_request(question="What is the refund policy?"))
    assert "Refund policy." not in [s for s, _ in _cited(result.text)]


def test_metadata_question_wins_over_a_rendered_prompt(provider: LocalExtractiveProvider) -> None:
    prompt = "<sources>...</sources>\nAnswer the question using the sources above. Where are your offices?"
    request = _request(question=prompt, metadata={"question": "When does the library open on Saturday?"})
    assert "On Saturdays it opens from 10 a.m. to 4 p.m." in provider.generate(request).text


@pytest.mark.parametrize("question", ["What is the capital of France?", "How do I bake sourdough bread?"])
def test_unanswerable_question_gets_the_honest_text(provider: LocalExtractiveProvider, question: str) -> None:
    assert provider.generate(_request(question=question)).text == NO_ANSWER


def test_no_sources_gets_the_honest_text(provider: LocalExtractiveProvider) -> None:
    result = provider.generate(_request(question="Where are your offices?", sources=()))
    assert result.text == NO_ANSWER


def test_min_similarity_is_configurable() -> None:
    strict = LocalExtractiveProvider(embedder=LocalMiniLMEmbedder(), min_similarity=1.5)
    assert strict.generate(_request(question="Where are your offices?")).text == NO_ANSWER


def test_small_max_tokens_keeps_only_the_best_sentence(provider: LocalExtractiveProvider) -> None:
    result = provider.generate(_request(question="Is the library open at the weekend?", max_tokens=10))
    assert len(_cited(result.text)) == 1


def test_overlapping_chunks_are_not_quoted_twice(provider: LocalExtractiveProvider) -> None:
    repeated = [*SOURCES, Source(number=4, chunk_id="privacy-0b", text=SOURCES[1].text)]
    result = provider.generate(_request(question="How long is my personal data kept?", sources=repeated))
    sentences = [s for s, _ in _cited(result.text)]
    assert len(sentences) == len(set(sentences))


def test_summary_is_three_to_five_cited_bullets_in_document_order(provider: LocalExtractiveProvider) -> None:
    page = [
        Source(number=1, chunk_id="p-0", text=SOURCES[0].text),
        Source(number=2, chunk_id="p-1", text="Refund requests are handled by the support team. "
               "Most refunds are approved on the same day. Abuse of the refund process may lead to a ban."),
    ]  # fmt: skip
    result = provider.generate(_request(task="summary", sources=page))
    lines = result.text.split("\n")
    assert 3 <= len(lines) <= 5
    order = []
    for line in lines:
        match = re.fullmatch(r"- (.+) \[(\d)\]", line)
        assert match, line
        number, sentence = int(match.group(2)), match.group(1)
        assert sentence in split_sentences(page[number - 1].text)
        order.append((number, split_sentences(page[number - 1].text).index(sentence)))
    assert order == sorted(order)


def test_long_pages_get_more_bullets_than_short_ones(provider: LocalExtractiveProvider) -> None:
    topics = ["refunds", "privacy", "opening hours", "accessibility", "complaints", "membership"]
    text = " ".join(
        f"Our {topic} rules changed in year {year}." for topic in topics for year in range(2020, 2024)
    )
    result = provider.generate(_request(task="summary", sources=[Source(number=1, chunk_id="p", text=text)]))
    assert len(result.text.split("\n")) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My order arrived broken and I want my money back.", "refund request"),
        ("When are you open on Saturday?", "opening hours"),
        ("Please delete all the personal information you hold about me.", "data protection"),
    ],
)
def test_classify_returns_exactly_the_closest_label(
    provider: LocalExtractiveProvider, text: str, expected: str
) -> None:
    labels = ["refund request", "opening hours", "data protection"]
    result = provider.generate(_request(task="classify", question=text, sources=(), labels=labels))
    assert result.text == expected


def test_classify_without_labels_is_a_bad_request(provider: LocalExtractiveProvider) -> None:
    with pytest.raises(ProviderBadRequest):
        provider.generate(_request(task="classify", question="anything"))


def test_generate_falls_back_to_central_sentences(provider: LocalExtractiveProvider) -> None:
    pairs = _cited(provider.generate(_request(task="generate")).text)
    assert pairs and all(sentence in SOURCE_SENTENCES for sentence, _ in pairs)
    assert provider.generate(_request(task="generate", sources=())).text == NO_ANSWER


@pytest.mark.parametrize("task", ["answer", "summary", "generate"])
def test_stream_deltas_join_to_the_generated_text(provider: LocalExtractiveProvider, task: str) -> None:
    request = _request(task=task, question="Is the library open on Sunday?")
    events = list(provider.stream(request))
    assert [e.kind for e in events[:-1]] == ["delta"] * (len(events) - 1) and events[-1].kind == "done"
    assert len(events) > 2 or task != "summary"
    streamed = "".join(e.text for e in events[:-1])
    assert streamed == events[-1].result.text == provider.generate(request).text


def test_output_is_deterministic(provider: LocalExtractiveProvider) -> None:
    request = _request(question="Is the library open on Sunday?")
    assert len({provider.generate(request).text for _ in range(3)}) == 1
