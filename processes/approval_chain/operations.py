"""Who signs the current step of a chain (`crm.step_signers`), by the step's mode in the decision
table: "one" (the default) gives the step's role to the approval task, which the engine routes to
the requester's own holder (engine.services.assignment.own_approver); "all" (会签, countersign)
gives every active holder of the step's roles a task of their own, all of which must approve;
"any" (或签) offers one task to every holder, the first to decide decides. The requester never
signs their own request: where nobody else holds the roles, the step goes the usual way (to the
requester's superior)."""

from __future__ import annotations

from typing import Any

from engine import operations
from engine.operations import operation

MODES = ("one", "all", "any")
PERSON = "user:"


def step_of(data: dict[str, Any]) -> tuple[str, str]:
    """The current step's approver (a role, roles separated by commas, or `user:<name>`) and mode."""
    approvers = data.get("approvers") or []
    modes = data.get("modes") or []
    index = int(data.get("step_index") or 0)
    role = str(approvers[index])
    mode = str(modes[index]).strip().lower() if index < len(modes) and modes[index] else "one"
    return role, mode if mode in MODES else "one"


@operation("crm.step_signers")
def step_signers(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    role, mode = step_of(data)
    result: dict[str, Any] = {"current_role": role, "step_mode": mode, "signers": [role]}
    if mode == "one" or role.startswith(PERSON):
        return result
    session = operations.current().session
    requester = data.get("initiator")
    roles = [r.strip() for r in role.split(",") if r.strip()]
    people = sorted({u for r in roles for u in operations.users_with_role(session, r)} - {requester})
    if not people:
        return result | {"step_mode": "one"}
    if mode == "all":
        return result | {"signers": [f"{PERSON}{p}" for p in people]}
    return result | {"signers": [",".join(f"{PERSON}{p}" for p in people)]}
