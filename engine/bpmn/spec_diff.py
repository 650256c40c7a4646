"""What changed between two process specs, element by element, as people read it: the elements
added, removed and changed (with the changed attributes), engine-internal tasks left out. The
versions page compares two deployed versions with it, and the designer's deploy preview the
latest version with the diagram about to be deployed."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff

from engine.bpmn import serializer

_INTERNAL = {"Start", "End", "Root"}


def _element(spec: Any) -> dict[str, Any]:
    return {"id": spec.bpmn_id or spec.name, "name": getattr(spec, "bpmn_name", None), "type": type(spec).__name__}


def visible(spec: Any) -> bool:
    """An element a person drew (not one the engine adds)."""
    return bool(getattr(spec, "bpmn_id", None)) and spec.name not in _INTERNAL and "." not in spec.name


def changes(old_spec: Any, new_spec: Any) -> dict[str, list[dict[str, Any]]]:
    """{'added': [...], 'removed': [...], 'changed': [...]}, each element {id, name, type}, sorted by id."""
    diff = SpecDiff(serializer.REGISTRY, old_spec, new_spec)
    return {
        "added": sorted((_element(s) for s in diff.added if visible(s)), key=lambda e: e["id"]),
        "removed": sorted((_element(s) for s in diff.removed if visible(s)), key=lambda e: e["id"]),
        "changed": sorted(
            # Named as in the new spec: a renamed task reads under its new name.
            (
                {**_element(new_spec.task_specs.get(s.name, s)), "attributes": sorted(set(attrs))}
                for s, attrs in diff.changed.items()
                if visible(s)
            ),
            key=lambda e: e["id"],
        ),
    }
