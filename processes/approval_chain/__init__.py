"""Approval chains (审批流, seeds 000 and 001): one process, many chains; the decision table
`approval_matrix.dmn` picks the approvers in order from the request (docs/domain.md, "Process 3").

Here: the diagram and its decision table, the worklist columns, the request card, the chain of
approvers as the task page shows it, the English names. May import `engine`; never `webui` or Flask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.process_parts import N_, Card, ProcessParts, Register, columns_from, register
from engine.services import budgets
from processes.approval_chain import operations as operations

HERE = Path(__file__).parent


def approver_steps(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The approver roles of a request with their state (done, current or todo) and mode (one, all:
    会签, any: 或签)."""
    roles = data.get("approvers")
    if not isinstance(roles, list):
        return []
    modes = data.get("modes") if isinstance(data.get("modes"), list) else []
    index = data.get("step_index") if isinstance(data.get("step_index"), int) else 0
    finished = data.get("outcome") in ("approved", "rejected", "withdrawn")
    steps: list[tuple[str, str, str]] = []
    for i, role in enumerate(roles):
        if i < index or (finished and data.get("outcome") == "approved"):
            state = "done"
        else:
            state = "current" if i == index and not finished else "todo"
        mode = str(modes[i]) if i < len(modes) and modes[i] in operations.MODES else "one"
        steps.append((str(role), state, mode))
    return steps


PARTS = register(
    ProcessParts(
        key="approval_chain",
        files=(HERE / "approval_matrix.dmn", HERE / "approval_chain.bpmn"),
        name_en="Approval request",
        task_names_en={"approve": "Approve the request", "revise": "Revise the request"},
        option_names_en={
            "store_expense": "Store expense",
            "department_expense": "Department expense",
            "special_expense": "Special expense",
            "discount_change": "Customer discount change",
            "contract": "Contract",
            "approve": "Approve",
            "return": "Return",
            "reject": "Reject",
        },
        columns=lambda data: columns_from(data, ("customer",), ("title", "description"), ("amount",)),
        cards=(
            Card("request", N_("Approval request"), ("request_type", "title", "amount", "customer", "description", "contract_file", "cc")),
            Card(
                "budget",
                N_("Department budget this month"),
                ("department_name", "budget", "budget_used", "budget_pending", "budget_remaining"),
                optional=True,
            ),
        ),
        field_names={
            "department_name": N_("Department"),
            "budget": N_("Monthly budget"),
            "budget_used": N_("Approved this month"),
            "budget_pending": N_("Pending this month"),
            "budget_remaining": N_("Remaining before this request"),
        },
        on_start=budgets.check_request,
        on_step={"revise": budgets.check_revision},
        report_fields=("request_type",),
        register=Register(N_("Approval ledger"), ("request_type", "title", "amount", "customer")),
        side_by_side={"approve": ("request", "budget")},
        started_labels=(N_("Requested by"), N_("Requested at")),
        money_fields=frozenset({"amount", "budget", "budget_used", "budget_pending", "budget_remaining"}),
        multiline_fields=frozenset({"description"}),
        steps=approver_steps,
        withdrawable=True,
        cc_field="cc",
        chain_step="approve",
    )
)
