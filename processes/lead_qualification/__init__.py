"""Sales lead qualification (销售线索管理, seeds 004 and 001): take every lead in, let only verified
ones out (宽进严出); duplicates, verification, follow-ups, the director's approval of grade A
(docs/domain.md, "Process 2").

Here: the diagram, the duplicate check, grading and the customer created from a qualified lead
(operations.py), the worklist columns, the lead card, the English names. May import `engine`;
never `webui` or Flask.
"""

from __future__ import annotations

from pathlib import Path

from engine.process_parts import N_, Card, ProcessParts, columns_from, register
from processes.lead_qualification import operations as operations

HERE = Path(__file__).parent

PARTS = register(
    ProcessParts(
        key="lead_qualification",
        files=(HERE / "lead_qualification.bpmn",),
        report_fields=("source",),
        name_en="Sales lead qualification",
        task_names_en={
            "resolve_duplicate": "Resolve a suspected duplicate lead",
            "verify_lead": "Verify the sales lead",
            "follow_up": "Follow up an unclear lead",
            "director_review": "Sales director's review",
        },
        option_names_en={
            "network": "Personal network",
            "media": "Public media",
            "customs": "Customs",
            "referral": "Customer or forwarder referral",
            "campaign": "Campaign",
            "web": "Website",
            "qualified": "Qualified",
            "unclear": "Unclear",
            "invalid": "Invalid",
            "A": "Grade A",
            "B": "Grade B",
            "C": "Grade C",
            "approve": "Approve",
            "reject": "Reject",
            "merge": "Merge",
            "keep": "Keep",
        },
        field_names={"suggested_grade": N_("Suggested grade"), "follow_up_round": N_("Follow-up round")},
        columns=lambda data: columns_from(data, ("company",), ("need",), ("estimated_value",)),
        cards=(
            Card(
                "lead",
                N_("Lead card"),
                (
                    "company",
                    "contact_name",
                    "phone",
                    "email",
                    "source",
                    "industry",
                    "company_nature",
                    "need",
                    "estimated_value",
                    "suggested_grade",
                ),
            ),
            Card(
                "verification",
                N_("Verification"),
                ("outcome", "grade", "authentic", "complete", "importance", "reason", "follow_up_round", "note"),
            ),
        ),
        side_by_side={"director_review": ("lead", "verification")},
        started_labels=(N_("Captured by"), N_("Captured at")),
        money_fields=frozenset({"estimated_value"}),
        multiline_fields=frozenset({"need", "reason", "note"}),
        skip_when_zero=frozenset({"follow_up_round"}),  # "0 rounds so far" says nothing
    )
)
