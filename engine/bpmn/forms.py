"""Generated forms: `camunda:formData` to a form model, and strict server-side validation.

Submitted values are checked field by field; a field the form does not declare is refused rather
than stored, so a client cannot write arbitrary process variables.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.bpmn import expressions, patterns
from engine.errors import ExpressionError, ValidationFailed

FIELD_TYPES = ("string", "long", "double", "boolean", "date", "enum", "file")


@dataclass(frozen=True)
class Upload:
    """A file submitted with a form (a page's or the API's multipart body) for a `file` field: the
    engine stores it as one of the instance's attachments (engine.services.form_files)."""

    filename: str
    data: bytes


MAX_STRING = 10_000
_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no", ""}
FIELD_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts '²' and other digits `int()` refuses."""
    return text.isascii() and text.isdigit()


def is_storable_text(text: str) -> bool:
    """False for text a database cannot store: NUL characters or lone UTF-16 surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _constraint(field: dict[str, Any], name: str) -> str | None:
    value = field.get("constraints", {}).get(name, ...)
    if value is ...:
        return None
    return value if value is not None else ""


def is_required(field: dict[str, Any]) -> bool:
    return _constraint(field, "required") is not None


def is_readonly(field: dict[str, Any]) -> bool:
    return _constraint(field, "readonly") is not None


def default_value(field: dict[str, Any], data: dict[str, Any]) -> Any:
    """The declared default only: a process variable of the same name is not offered by itself,
    or the second approver would find the first one's decision and comment filled in. Forms that
    should show earlier values say so (`defaultValue="${amount}"`). A read-only field is never
    submitted and exists to show its variable, so it still does."""
    raw = field.get("default")
    if raw is None:
        return data.get(field["id"]) if is_readonly(field) else None
    if expressions.is_expression(raw):
        try:
            return expressions.evaluate(raw, data)
        except Exception:
            return None
    return raw


def form_model(fields: list[dict[str, Any]], data: dict[str, Any]) -> list[dict[str, Any]]:
    """The form as clients render it, with defaults computed from the task data."""
    model = []
    for f in fields:
        item: dict[str, Any] = {
            "id": f["id"],
            "label": f.get("label") or f["id"],
            "label_en": f.get("properties", {}).get("label_en") or f.get("label") or f["id"],
            "type": f.get("type", "string"),
            "required": is_required(f),
            "readonly": is_readonly(f),
            "default": default_value(f, data),
        }
        if f.get("type") == "enum":
            item["options"] = [{"id": o["id"], "name": o["name"]} for o in f.get("options", [])]
        for key in ("min", "max", "minlength", "maxlength", "pattern"):
            value = _constraint(f, key)
            if value not in (None, ""):
                item[key] = value
        if f.get("properties", {}).get("multiline") == "true":
            item["multiline"] = True
        if f.get("properties", {}).get("required_if"):
            item["required_if"] = f["properties"]["required_if"]
        model.append(item)
    return model


def field_problems(field: dict[str, Any]) -> list[str]:
    """Deploy-time checks of one field definition."""
    problems = []
    fid = field.get("id") or ""
    if not FIELD_ID.match(fid):
        problems.append(f"form field id '{fid}' must be a letter followed by letters, digits or _")
    if field.get("type") not in FIELD_TYPES:
        problems.append(f"form field '{fid}' has unsupported type '{field.get('type')}'")
    if field.get("type") == "enum" and not field.get("options"):
        problems.append(f"enum form field '{fid}' has no values")
    for key in ("min", "max", "minlength", "maxlength"):
        value = _constraint(field, key)
        if value not in (None, ""):
            try:
                float(value)  # type: ignore[arg-type]
            except ValueError:
                problems.append(f"form field '{fid}': constraint {key}='{value}' is not a number")
    pattern = _constraint(field, "pattern")
    problem = patterns.problem(pattern) if pattern else None
    if problem:
        problems.append(f"form field '{fid}': {problem}")
    default = field.get("default")
    for text in (field.get("properties", {}).get("required_if"), default if default and expressions.is_expression(default) else None):
        problem = expressions.check_expression(text) if text else None
        if problem:
            problems.append(f"form field '{fid}': {problem}")
    return problems


def _coerce(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    kind = field.get("type", "string")
    if kind in ("string", "date") or kind == "enum":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and kind == "enum":
            value = str(value)
        if not isinstance(value, str):
            return None, "must be text"
        if not is_storable_text(value):
            return None, "contains characters that cannot be stored (NUL or invalid Unicode)"
        value = value.strip() if kind != "string" else value
        if kind == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return None, "must be a date (YYYY-MM-DD)"
        if kind == "enum":
            options = [o["id"] for o in field.get("options", [])]
            if value not in options:
                return None, f"must be one of: {', '.join(options)}"
        if len(value) > MAX_STRING:
            return None, f"must be at most {MAX_STRING} characters"
        return value, None
    if kind == "file":  # a new file, or one of the instance's attachments by its id (checked when stored)
        if isinstance(value, Upload):
            return value, None
        if isinstance(value, dict):
            value = value.get("attachment_id")
        if isinstance(value, str) and is_digits(value.strip()):
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2_147_483_647:
            return value, None
        return None, "must be a file (uploaded with the form, or the id of one of this process's attachments)"
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE, None
        return None, "must be true or false"
    if kind in ("long", "double"):
        if isinstance(value, bool):
            return None, "must be a number"
        if isinstance(value, str):
            text = value.strip().replace(",", "")
            try:
                value = int(text) if kind == "long" else float(text)
            except ValueError:
                return None, "must be a whole number" if kind == "long" else "must be a number"
        if kind == "long" and isinstance(value, float) and value.is_integer():
            value = int(value)
        if kind == "long" and not isinstance(value, int):
            return None, "must be a whole number"
        if not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > 1e15:
            return None, "must be a finite number"
        return value, None
    return None, f"has unsupported type {kind}"


def _check_constraints(field: dict[str, Any], value: Any) -> str | None:
    kind = field.get("type")
    for key, check, message in (
        ("min", lambda v, c: v >= c, "must be at least {}"),
        ("max", lambda v, c: v <= c, "must be at most {}"),
    ):
        config = _constraint(field, key)
        if config not in (None, "") and kind in ("long", "double") and not check(value, float(config)):
            return message.format(config)
    if isinstance(value, str):
        low, high = _constraint(field, "minlength"), _constraint(field, "maxlength")
        if low not in (None, "") and len(value) < int(float(low)):
            return f"must be at least {low} characters"
        if high not in (None, "") and len(value) > int(float(high)):
            return f"must be at most {high} characters"
        pattern = _constraint(field, "pattern")
        try:
            if pattern and not patterns.fullmatch(pattern, value):
                return "has the wrong format"
        except patterns.PatternTimeout:
            return "could not be checked against its format in time; shorten it, or ask an admin to simplify the field's pattern"
    return None


def validate(fields: list[dict[str, Any]], submitted: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Clean submitted values against the form, or raise ValidationFailed with field messages."""
    if not isinstance(submitted, dict):
        raise ValidationFailed({"data": "must be an object of field values"}, "The form data must be an object.")
    declared = {f["id"]: f for f in fields}
    errors: dict[str, str] = {}
    for key in submitted:
        if key not in declared:
            errors[str(key)[:64]] = "is not a field of this form"
    cleaned: dict[str, Any] = {}
    for fid, field in declared.items():
        if is_readonly(field):
            continue
        value = submitted.get(fid)
        if value is None or value == "":
            if field.get("type") == "boolean" and fid in submitted and value == "":
                value = False
            else:
                continue
        coerced, error = _coerce(field, value)
        if error is None:
            error = _check_constraints(field, coerced)
        if error:
            errors[fid] = error
        else:
            cleaned[fid] = coerced
    scope = {**(data or {}), **{f: None for f in declared}, **cleaned}
    for fid, field in declared.items():
        if fid in cleaned or fid in errors or is_readonly(field):
            continue
        condition = field.get("properties", {}).get("required_if")
        required = is_required(field)
        if not required and condition:
            try:
                required = bool(expressions.evaluate(condition, scope))
            except (ExpressionError, Exception):
                required = False
        if required:
            errors[fid] = "is required"
    if errors:
        raise ValidationFailed(errors)
    return cleaned
