"""A text value from a request, checked the same way by every service that takes one (users,
customers, contacts, activities): text, storable (no NUL, valid Unicode), within its length."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.bpmn import forms


def text(data: Mapping[str, Any], key: str, errors: dict[str, str], *, required: bool = False, limit: int = 200) -> str | None:
    """The stripped text (None when absent or empty); a problem goes into `errors[key]`."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            errors[key] = "is required"
        return None
    if not isinstance(value, str) or not forms.is_storable_text(value) or len(value) > limit:
        errors[key] = f"must be text of at most {limit} characters"
        return None
    return value.strip()
