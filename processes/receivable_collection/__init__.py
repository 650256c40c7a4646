"""Receivable collection (收款计划 / 催款, seed 001): one installment of a contract, its payments
recorded by the sales assistant until it is paid, the owner reminded 7 days before the due date and
given a dunning to-do on it and every week after while unpaid, the sales director alerted 30 days
past due (docs/domain.md, "Process contract, continued").

Here: the diagram, the worklist columns (the outstanding amount), the receivable card, the English
names. May import `engine`; never `webui` or Flask.
"""

from __future__ import annotations

from pathlib import Path

from engine.process_parts import N_, Card, ProcessParts, columns_from, register
from processes.receivable_collection import operations as operations

HERE = Path(__file__).parent

PARTS = register(
    ProcessParts(
        key="receivable_collection",
        files=(HERE / "receivable_collection.bpmn",),
        name_en="Receivable collection",
        task_names_en={"record_payment": "Record a payment", "dunning": "Chase the payment"},
        option_names_en={"promised": "Promised to pay", "disputed": "Disputed", "unreachable": "Could not reach them"},
        field_names={"paid_total": N_("Paid so far"), "outstanding": N_("Outstanding")},
        columns=lambda data: columns_from(data, ("customer",), ("contract_no",), ("outstanding", "amount")),
        cards=(
            Card(
                "receivable",
                N_("Receivable"),
                ("customer", "contract_no", "amount", "currency", "due_date", "owner", "paid_total", "outstanding"),
            ),
        ),
        started_labels=(N_("Entered by"), N_("Entered at")),
        money_fields=frozenset({"amount", "paid_total", "outstanding", "paid_amount"}),
        multiline_fields=frozenset({"note"}),
    )
)
