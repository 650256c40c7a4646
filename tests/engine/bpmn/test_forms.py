"""Generated forms: field-level validation, unknown fields refused, nothing half-stored."""

from __future__ import annotations

from typing import Any

import pytest

from engine.bpmn.forms import form_model, validate
from engine.errors import ValidationFailed

FIELDS: list[dict[str, Any]] = [
    {
        "id": "customer",
        "label": "客户",
        "type": "string",
        "constraints": {"required": None, "maxlength": "50"},
        "properties": {"label_en": "Customer"},
    },
    {"id": "amount", "label": "金额", "type": "double", "constraints": {"min": "0"}, "properties": {}},
    {"id": "count", "label": "数量", "type": "long", "constraints": {}, "properties": {}},
    {"id": "valid", "label": "成立", "type": "boolean", "constraints": {}, "properties": {}},
    {
        "id": "channel",
        "label": "渠道",
        "type": "enum",
        "options": [{"id": "phone", "name": "电话"}, {"id": "email", "name": "邮件"}],
        "constraints": {},
        "properties": {},
    },
    {
        "id": "decision",
        "label": "决定",
        "type": "enum",
        "options": [{"id": "approve", "name": "同意"}, {"id": "return", "name": "退回"}],
        "constraints": {"required": None},
        "properties": {},
    },
    {"id": "comment", "label": "意见", "type": "string", "constraints": {}, "properties": {"required_if": "decision == 'return'"}},
    {"id": "on", "label": "日期", "type": "date", "constraints": {}, "properties": {}},
]


def test_valid_values_are_coerced_to_their_types() -> None:
    cleaned = validate(
        FIELDS,
        {
            "customer": "宁波海联",
            "amount": "1,200.50",
            "count": "3",
            "valid": "on",
            "channel": "phone",
            "decision": "approve",
            "on": "2026-10-08",
        },
    )
    assert cleaned == {
        "customer": "宁波海联",
        "amount": 1200.5,
        "count": 3,
        "valid": True,
        "channel": "phone",
        "decision": "approve",
        "on": "2026-10-08",
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"decision": "approve"}, "customer", "is required"),
        ({"customer": "x", "decision": "maybe"}, "decision", "must be one of"),
        ({"customer": "x", "decision": "approve", "amount": -1}, "amount", "at least 0"),
        ({"customer": "x", "decision": "approve", "amount": "abc"}, "amount", "must be a number"),
        ({"customer": "x", "decision": "approve", "amount": True}, "amount", "must be a number"),
        ({"customer": "x", "decision": "approve", "amount": float("nan")}, "amount", "finite"),
        ({"customer": "x", "decision": "approve", "count": 1.5}, "count", "whole number"),
        ({"customer": "x", "decision": "approve", "valid": "perhaps"}, "valid", "true or false"),
        ({"customer": "x" * 51, "decision": "approve"}, "customer", "at most 50"),
        ({"customer": ["x"], "decision": "approve"}, "customer", "must be text"),
        ({"customer": "x", "decision": "approve", "on": "8/10/2026"}, "on", "YYYY-MM-DD"),
        ({"customer": "x", "decision": "return"}, "comment", "is required"),
        ({"customer": "x", "decision": "approve", "secret_flag": True}, "secret_flag", "not a field"),
    ],
)
def test_invalid_values_give_field_errors(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(FIELDS, data)
    assert message in raised.value.fields[field]


def test_all_errors_are_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(FIELDS, {"amount": -5, "extra": 1})
    assert set(raised.value.fields) == {"customer", "decision", "amount", "extra"}


def test_non_object_form_data_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        validate(FIELDS, ["customer", "x"])


def test_form_model_computes_defaults_from_task_data() -> None:
    fields = [
        {
            "id": "department",
            "label": "部门",
            "type": "enum",
            "default": "${proposed_department}",
            "options": [{"id": "quality", "name": "质量部"}],
            "constraints": {"required": None},
            "properties": {},
        }
    ]
    model = form_model(fields, {"proposed_department": "quality"})
    assert model[0]["default"] == "quality"
    assert model[0]["required"] is True
    assert model[0]["options"] == [{"id": "quality", "name": "质量部"}]


def test_only_read_only_fields_show_the_process_variable_of_their_name() -> None:
    fields = [
        {"id": "amount", "label": "金额", "type": "double", "constraints": {"readonly": None}, "properties": {}},
        {"id": "decision", "label": "决定", "type": "string", "constraints": {}, "properties": {}},
    ]
    model = form_model(fields, {"amount": 1200.0, "decision": "approve"})
    assert [(f["id"], f["readonly"], f["default"]) for f in model] == [("amount", True, 1200.0), ("decision", False, None)]
    assert validate(fields, {"decision": "return"}, {"amount": 1200.0}) == {"decision": "return"}  # never submitted


def test_a_default_may_use_the_functions_the_application_offers() -> None:
    """Forms, conditions and deploy validation know the same offered names (`manager_of`,
    `completed_by`): a form default naming one was refused as "not available"."""
    import engine.operations  # noqa: F401  (offers them, as the app does)
    from engine.bpmn import forms

    field = {"id": "approver", "type": "string", "default": "${completed_by('analyze_cause') or manager_of(initiator)}"}
    assert forms.field_problems(field) == []
    assert forms.field_problems({**field, "default": "${no_such_function(1)}"}) != []
