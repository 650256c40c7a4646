"""Customer complaint handling (客户投诉处理, seed 004): nine steps, a reply within 24 hours and the
resolution carried out within 5 working days (docs/domain.md, "Process 1").

Here: the diagram, the department proposed from the category (operations.py), the worklist
columns, the complaint register's cards, the English names. May import `engine` (the parts it
registers, the operations decorator); never `webui` or Flask.
"""

from __future__ import annotations

from pathlib import Path

from engine.process_parts import N_, Card, ProcessParts, Register, columns_from, register
from processes.complaint_handling import operations as operations

HERE = Path(__file__).parent
# Seed 004: 紧急/高 complaints come first in every worklist (high priority), 低 last.
SEVERITY_PRIORITY = {"urgent": 90, "high": 75, "normal": 50, "low": 25}

PARTS = register(
    ProcessParts(
        key="complaint_handling",
        files=(HERE / "complaint_handling.bpmn",),
        name_en="Complaint handling",
        task_names_en={
            "assess": "Judge whether the complaint stands",
            "reply_invalid": "Reply courteously to the customer",
            "assign_department": "Confirm the responsible department",
            "analyze_cause": "Analyse the cause",
            "propose_resolution": "Propose a resolution",
            "leader_approval": "Division leader's instruction",
            "gm_approval": "General manager's instruction",
            "implement": "Carry out the resolution",
            "summarize": "Summarise, evaluate and archive",
        },
        option_names_en={
            "phone": "Phone",
            "email": "Email",
            "web": "Website",
            "visit": "Visit",
            "transport": "Transport",
            "customs": "Customs",
            "quality": "Quality",
            "service": "Service",
            "billing": "Billing",
            "other": "Other",
            "low": "Low",
            "normal": "Normal",
            "high": "High",
            "urgent": "Urgent",
            "apology": "Apology",
            "discount": "Discount",
            "compensation": "Compensation",
            "replacement": "Replacement",
            "refund": "Refund",
            "approve": "Approve",
            "return": "Return",
        },
        field_names={"proposed_department": N_("Proposed department")},
        columns=lambda data: columns_from(data, ("customer",), ("description",), ("amount",)),
        priority=lambda data: SEVERITY_PRIORITY.get(str(data.get("severity") or "normal"), 50),
        cc_field="cc",
        cards=(
            Card(
                "register",
                N_("Complaint register"),
                ("customer", "complainant", "contact", "channel", "category", "severity", "description", "demand", "cc"),
            ),
            Card("assessment", N_("Assessment"), ("valid", "note", "reply")),
            Card("analysis", N_("Department's analysis"), ("department", "cause", "responsible_person")),
            Card("resolution", N_("Proposed resolution"), ("resolution_type", "amount", "plan")),
            Card("implementation", N_("Implementation"), ("customer_notified", "feedback", "penalty")),
            Card("summary", N_("Summary and evaluation"), ("summary", "improvement")),
        ),
        report_fields=("category", "department"),
        rate_per_orders=True,
        register=Register(
            N_("Customer complaint register"),
            (
                "customer",
                "complainant",
                "contact",
                "channel",
                "category",
                "severity",
                "description",
                "demand",
                "department",
                "resolution_type",
                "amount",
            ),
        ),
        side_by_side={
            "leader_approval": ("register", "analysis", "resolution"),
            "gm_approval": ("register", "analysis", "resolution"),
        },
        started_labels=(N_("Registered by"), N_("Registered at")),
        money_fields=frozenset({"amount"}),
        multiline_fields=frozenset(
            {"description", "demand", "plan", "cause", "note", "reply", "feedback", "penalty", "summary", "improvement"}
        ),
    )
)
