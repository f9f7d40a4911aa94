"""Masking e-mail addresses and phone numbers in a visitor's text before it is stored.

Plain Python (no Django): run on every submitted question, and testable from a string.

The shapes follow ``review.rules.contact_details`` (the personal-data rule), narrowed for phones:
a question holds order numbers, amounts and dates, which must survive, so a run of digits counts
as a phone number only when it is written like one: starting with ``+`` or ``00`` (international),
starting with ``0`` and 10 or more digits (a national number), or grouped 3-3-4 as in North America
("(555) 123-4567", "555.123.4567"). A bare "order 123456789012" is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EMAIL_MASK = "[email address removed]"
PHONE_MASK = "[phone number removed]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Digits and the separators phone numbers are written with; a match starts and ends on a digit
# (or a leading "+" / "(").
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|\()?\d[\d \-().\u00a0/]{6,}\d(?![\w])")
_NANP = re.compile(r"^\(?\d{3}\)?[ .\-\u00a0]?\d{3}[ .\-\u00a0]\d{4}$")


@dataclass(kw_only=True, frozen=True)
class Masked:
    text: str
    emails: int = 0
    phones: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.emails or self.phones)


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 9 <= len(digits) <= 15:
        return False
    if candidate.startswith("+") or candidate.startswith("00"):
        return True
    if candidate.lstrip("(").startswith("0"):
        return len(digits) >= 10
    return bool(_NANP.match(candidate))


def mask_contact_details(text: str) -> Masked:
    """``text`` with each e-mail address and phone number replaced by a placeholder that says what
    was there, so a model reading the question still knows the visitor gave one."""
    emails = phones = 0

    def email(match: re.Match) -> str:
        nonlocal emails
        emails += 1
        return EMAIL_MASK

    def phone(match: re.Match) -> str:
        nonlocal phones
        if not _is_phone(match.group(0)):
            return match.group(0)
        phones += 1
        return PHONE_MASK

    masked = _PHONE_CANDIDATE.sub(phone, _EMAIL.sub(email, text))
    return Masked(text=masked, emails=emails, phones=phones)


def mask_payload(payload: Mapping[str, Any], *, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A copy of ``payload`` with its string values (or only ``fields``) masked."""
    chosen = set(payload) if fields is None else set(fields)
    return {
        name: mask_contact_details(value).text if name in chosen and isinstance(value, str) else value
        for name, value in payload.items()
    }
