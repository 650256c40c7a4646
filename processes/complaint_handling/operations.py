"""The complaint's invoked application: the responsible department proposed from the category."""

from __future__ import annotations

from typing import Any

from engine.operations import operation

DEPARTMENT_BY_CATEGORY = {"transport": "transport", "customs": "customs", "quality": "quality"}


@operation("crm.propose_department")
def propose_department(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Transport -> 国运部, customs -> 报关部, quality -> 质量部; other categories are chosen by hand."""
    return {"proposed_department": DEPARTMENT_BY_CATEGORY.get(str(data.get("category")))}
