"""Contact details in a visitor's question are masked; figures a question needs are not."""

import pytest

from ai_core.privacy.masking import EMAIL_MASK, PHONE_MASK, mask_contact_details, mask_payload


@pytest.mark.parametrize(
    "text",
    [
        "Mail me at jo.bloggs+refunds@example.co.uk please",
        "Call +44 20 7946 0958 tomorrow",
        "Call 0044 20 7946 0958 tomorrow",
        "ring 020 7946 0958.",
        "my mobile is 06-12345678",
        "US office (555) 123-4567",
        "or 555.123.4567",
    ],
)
def test_contact_details_are_replaced_by_a_placeholder(text):
    masked = mask_contact_details(text)
    assert masked.changed
    assert EMAIL_MASK in masked.text or PHONE_MASK in masked.text
    assert not any(part in masked.text for part in ("@example", "7946", "12345678", "123-4567", "123.4567"))


@pytest.mark.parametrize(
    "text",
    [
        "Where is order 123456789012?",
        "I paid €1,250,000.00 on 2024-01-15 at 10:30",
        "Refunds take 5 10 15 20 or 25 working days",
        "Reference 2024-001-123-456, invoice INV-99887766",
        "Is the 30-day window 30 days or 14 days?",
    ],
)
def test_numbers_dates_and_references_survive(text):
    masked = mask_contact_details(text)
    assert masked.text == text and not masked.changed


def test_the_rest_of_the_question_is_kept_word_for_word():
    masked = mask_contact_details("I'm jo@example.org, 020 7946 0958: can I get a refund after 30 days?")
    assert masked.text == f"I'm {EMAIL_MASK}, {PHONE_MASK}: can I get a refund after 30 days?"
    assert (masked.emails, masked.phones) == (1, 1)


def test_only_string_fields_of_a_payload_are_masked():
    payload = {"question": "reach me at a@b.io", "count": 3}
    assert mask_payload(payload) == {"question": f"reach me at {EMAIL_MASK}", "count": 3}
    assert mask_payload(payload, fields=["other"]) == payload
