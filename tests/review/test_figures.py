"""Figure extraction and comparison (review.figures): strings in, normalised figures out."""

from decimal import Decimal

import pytest

from review import figures
from review.figures import CONTRADICTED, SUPPORTED, UNSUPPORTED, assess, extract_figures


def only(text: str) -> figures.Figure:
    (figure,) = extract_figures(text)
    return figure


def value(figure: figures.Figure):
    return figure.kind, figure.unit, figure.low, figure.high


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs £9.", ("money", "GBP", 9, 9)),
        ("It costs £9.00.", ("money", "GBP", 9, 9)),
        ("It costs $1,200.50 a year.", ("money", "USD", Decimal("1200.50"), Decimal("1200.50"))),
        ("It costs 90 GBP.", ("money", "GBP", 90, 90)),
        ("It costs GBP 90.", ("money", "GBP", 90, 90)),
        ("It costs €5.", ("money", "EUR", 5, 5)),
        ("It costs nine pounds.", ("money", "GBP", 9, 9)),
        ("It costs 50p.", ("money", "GBP", Decimal("0.5"), Decimal("0.5"))),
        ("Cover up to £1.2 million.", ("money", "GBP", 1_200_000, 1_200_000)),
        ("Fees are £5–£10.", ("money", "GBP", 5, 10)),
        ("Fees are between £5 and £10.", ("money", "GBP", 5, 10)),
        ("A 30% discount.", ("percent", "%", 30, 30)),
        ("A 30 per cent discount.", ("percent", "%", 30, 30)),
        ("A thirty percent discount.", ("percent", "%", 30, 30)),
        ("Rates of 10–20%.", ("percent", "%", 10, 20)),
        ("Within 30 days.", ("duration", "day", 30, 30)),
        ("Within thirty days.", ("duration", "day", 30, 30)),
        ("Within Twenty-one days.", ("duration", "day", 21, 21)),
        ("Within two weeks.", ("duration", "day", 14, 14)),
        ("Within a fortnight.", ("duration", "day", 14, 14)),
        ("A 14-day trial.", ("duration", "day", 14, 14)),
        ("Within 30 calendar days.", ("duration", "day", 30, 30)),
        ("Within 10 working days.", ("duration", "working_day", 10, 10)),
        ("Within ten business days.", ("duration", "working_day", 10, 10)),
        ("Within 5–10 working days.", ("duration", "working_day", 5, 10)),
        ("Within 5-10 working days.", ("duration", "working_day", 5, 10)),
        ("Within five to ten working days.", ("duration", "working_day", 5, 10)),
        ("Within between 5 and 10 working days.", ("duration", "working_day", 5, 10)),
        ("Kept for 2 years.", ("duration", "month", 24, 24)),
        ("Kept for 24 months.", ("duration", "month", 24, 24)),
        ("Answered within 48 hours.", ("duration", "minute", 48 * 60, 48 * 60)),
        ("Open from 9am.", ("time", "", 9 * 60, 9 * 60)),
        ("Open until 5:30 p.m.", ("time", "", 17 * 60 + 30, 17 * 60 + 30)),
        ("Open until 17:30.", ("time", "", 17 * 60 + 30, 17 * 60 + 30)),
        ("We have 12 offices.", ("number", "", 12, 12)),
        ("It costs £9 a month.", ("money", "GBP", 9, 9)),  # a rate: "a month" is no duration
    ],
)
def test_each_kind_of_figure_is_found_and_normalised(text, expected):
    assert value(only(text)) == expected


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("From 1 March 2025 on.", {(2025, 3, 1)}),
        ("From 1st of March 2025 on.", {(2025, 3, 1)}),
        ("From March 1, 2025 on.", {(2025, 3, 1)}),
        ("From 2025-03-01 on.", {(2025, 3, 1)}),
        ("From 1 Mar 2025 on.", {(2025, 3, 1)}),
        ("From 01/03/2025 on.", {(2025, 3, 1), (2025, 1, 3)}),  # British first, US too
        ("From 25/12/2025 on.", {(2025, 12, 25)}),  # only one reading is a date
        ("From 1 March on.", {(None, 3, 1)}),
        ("From March 2025 on.", {(2025, 3, None)}),
    ],
)
def test_dates_in_several_formats_are_read_as_year_month_day(text, keys):
    figure = only(text)
    assert figure.kind == figures.DATE and figure.keys == keys


def test_phone_numbers_and_email_addresses_are_figures_with_a_normalised_key():
    phone, email = extract_figures("Call +44 20 7946 0958 or write to Help@Example.com.")
    assert (phone.kind, phone.keys) == (figures.PHONE, {"079460958"})
    assert (email.kind, email.keys) == (figures.EMAIL, {"help@example.com"})
    assert only("Call 020 7946 0958.").keys == phone.keys


@pytest.mark.parametrize(
    "text",
    [
        "Refunds are paid to the original payment method [1].",
        "Refunds are paid to the original payment method [1][2] [3, 4].",
        "1. Write to support.",
        "2) Wait for an answer.",
        "Use 2FA on Windows and v2 of the app.",
        "One of our plans suits no one.",  # bare number words are prose
        "You can ask once a week or twice a year.",  # frequencies, not durations
    ],
)
def test_citation_markers_list_numbering_and_prose_are_not_figures(text):
    assert extract_figures(text) == ()


def test_figure_spans_point_at_the_text_as_written():
    text = "Refunds within thirty days [1] cost £1,200."
    assert [text[f.start : f.end] for f in extract_figures(text)] == ["thirty days", "£1,200"]


def test_five_and_ten_without_between_are_two_figures_and_twenty_one_is_one():
    assert [value(f) for f in extract_figures("Plans for 5 and 10 users.")] == [
        ("number", "", 5, 5),
        ("number", "", 10, 10),
    ]
    assert value(only("Within twenty-one days.")) == ("duration", "day", 21, 21)


# --- Comparing a sentence's figures with its cited passages

REFUND = "You can ask for a refund within 30 days of purchase. Refunds are paid within 10 working days."


def statuses(sentence: str, *passages: str) -> list[str]:
    return [check.status for check in assess(sentence, list(enumerate(passages, start=1)))]


@pytest.mark.parametrize(
    ("sentence", "passage"),
    [
        ("Ask within thirty days [1].", "Ask within 30 days."),
        ("Ask within 30 days [1].", "Ask within thirty days."),
        ("The fee is £1,200 [1].", "The fee is £1200."),
        ("The fee is £1200 [1].", "The fee is 1,200 GBP."),
        ("The fee is £9 [1].", "The fee is £9.00."),
        ("A 30% discount [1].", "A 30 per cent discount."),
        ("Within two weeks [1].", "Within 14 days."),
        ("Within a fortnight [1].", "Within 14 days."),
        ("Kept for two years [1].", "Kept for 24 months."),
        ("Answered within 24 hours [1].", "Answered within one day."),
        ("Paid in 7 working days [1].", "Paid in 5–10 working days."),
        ("Paid in 5 to 10 working days [1].", "Paid in between 5 and 10 working days."),
        ("From 1 March 2025 [1].", "From 2025-03-01."),
        ("From 01/03/2025 [1].", "From 1 March 2025."),
        ("From 1 March [1].", "From 1 March 2025."),
        ("Open 9am to 5pm [1].", "Open 09:00 to 17:00."),
        ("Call 020 7946 0958 [1].", "Call +44 20 7946 0958."),
        ("Our 2024 policy [1].", "Refund policy 2024. Ask within 30 days."),
        ("We have 12 offices [1].", "Our 12 offices."),
    ],
)
def test_the_same_figure_written_another_way_is_supported(sentence, passage):
    assert set(statuses(sentence, passage)) == {SUPPORTED}


@pytest.mark.parametrize(
    ("sentence", "passage"),
    [
        ("Ask within 14 days [1].", REFUND),
        ("Ask within fourteen days [1].", REFUND),
        ("Paid within 5 working days [1].", REFUND),
        ("The fee is £9 [1].", "The fee is £90."),
        ("The fee is $90 [1].", "The fee is £90."),  # another currency is another amount
        ("A 20% discount [1].", "A 30 per cent discount."),
        ("Paid in 12 working days [1].", "Paid in 5–10 working days."),
        ("Paid in 5–12 working days [1].", "Paid in 5–10 working days."),
        ("From 2 March 2025 [1].", "From 1 March 2025."),
        ("Open until 6pm [1].", "Open 9am to 5pm."),
        ("Call 020 7946 0000 [1].", "Call +44 20 7946 0958."),
        ("Write to sales@example.com [1].", "Write to help@example.com."),
    ],
)
def test_another_value_of_the_same_kind_in_the_passage_contradicts(sentence, passage):
    (check,) = assess(sentence, [(1, passage)])
    assert check.status == CONTRADICTED and check.source == 1
    assert (
        check.evidence is not None
        and passage[check.evidence.start : check.evidence.end] == check.evidence.text
    )


@pytest.mark.parametrize(
    ("sentence", "passage"),
    [
        ("Ask within 2 months [1].", "Ask within 30 days."),  # months are not days: not comparable
        ("Ask within 14 days [1].", "Paid within 10 working days."),  # nor are working days
        ("We have 14 offices [1].", "Our 12 offices."),  # a plain number never contradicts
        ("The fee is £9 [1].", "The fee is 30% of the price."),
        ("Call 020 7946 0958 [1].", "Write to help@example.com."),
    ],
)
def test_a_figure_no_passage_states_and_none_contradicts_is_unsupported(sentence, passage):
    assert statuses(sentence, passage) == [UNSUPPORTED]


def test_a_supporting_passage_wins_over_a_conflicting_one():
    (check,) = assess("Within 30 days [2].", [(1, "Within 14 days."), (2, "Within 30 days.")])
    assert (check.status, check.source, check.evidence.text) == (SUPPORTED, 2, "30 days")
