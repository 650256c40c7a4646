"""How two records of one company are recognised: the normalised company name, phone and email.

Lead qualification checks new leads against leads and customers with it; the customer file refuses
duplicates by the same rule (docs/domain.md).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_COMPANY_NOISE = re.compile(
    r"(有限责任公司|股份有限公司|有限公司|集团|公司|co\.?|ltd\.?|inc\.?|limited|corp\.?|corporation|company|[\s\.,()（）·-])", re.I
)


def company(name: str) -> str:
    """`宁波海联国际物流有限公司` and `宁波海联国际物流` are one company."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    return _COMPANY_NOISE.sub("", text)


def phone(number: str | None) -> str | None:
    """Digits only, without China's +86 before a full number."""
    digits = re.sub(r"\D", "", number or "")
    if digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    return digits or None


def email(address: str | None) -> str | None:
    value = (address or "").strip().lower()
    return value or None


def same_party(
    name_column: Any, phone_column: Any, email_column: Any, name: str | None, phone_number: str | None, address: str | None
) -> list[Any]:
    """The conditions under which a row (a lead, a customer) is the same company: its normalised
    name, phone or email equals this one's. Empty when there is nothing to compare."""
    conditions = []
    if normalised := company(name or ""):
        conditions.append(name_column == normalised)
    if digits := phone(phone_number):
        conditions.append(phone_column == digits)
    if mail := email(address):
        conditions.append(email_column == mail)
    return conditions
