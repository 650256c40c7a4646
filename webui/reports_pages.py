"""The monitor's reports (/monitor/reports; supervisors their team, admins everything): on time and
late per step and per department for a period, and each process's instances by the fields its
package reports on (complaints by category and department, with the rate per month or per 100
orders). Each chart (Apache ECharts, vendored) has its numbers in a table beside it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from engine.bpmn.forms import is_digits
from engine.errors import ValidationFailed
from engine.process_parts import registered
from engine.services.instance_search import iso_day
from engine.services.presentation import element_names, field_catalogue
from engine.services.reports import NOT_SET, CycleTime, OnTime, Period
from webui import labels
from webui.context import label_of
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.ui import actor, eng, page_blueprint, person

bp = page_blueprint("reports", __name__)


def _day(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    day = iso_day(text) if text else None
    if text and day is None:
        raise ValidationFailed({name: "must be an ISO date (YYYY-MM-DD)"})
    return day


def _words(catalogue: dict[str, dict[str, Any]], field_id: str, values: Any) -> dict[str, str]:
    """Stored option ids -> the form's words for them; an empty one is "(not set)"."""
    options = (catalogue.get(field_id) or {}).get("options") or {}
    return {v: labels.option_label(v, options.get(v)) if v != NOT_SET else _("(not set)") for v in values}


def _orders() -> int | None:
    text = (request.args.get("orders") or "").strip()
    if not text:
        return None
    if not is_digits(text) or len(text) > 9 or int(text) == 0:
        raise ValidationFailed({"orders": "must be a whole number of orders above 0"})
    return int(text)


def _on_time_chart(chart_id: str, rows: list[OnTime], names: list[str]) -> dict[str, Any]:
    return {
        "id": chart_id,
        "stacked": True,
        "categories": names,
        "series": [
            {"name": _("On time"), "data": [r.on_time for r in rows], "color": "#2e7d32"},
            {"name": _("Late"), "data": [r.late for r in rows], "color": "#c62828"},
        ],
    }


def _hours_chart(chart_id: str, rows: list[CycleTime], names: list[str]) -> dict[str, Any]:
    hours = [round((r.average_seconds or 0) / 3600, 1) for r in rows]
    return {"id": chart_id, "categories": names, "series": [{"name": _("Average hours"), "data": hours, "color": "#6a1b9a"}]}


@bp.get("/monitor/reports")
def index() -> ResponseReturnValue:
    engine = eng()
    me = actor()
    period: Period = engine.reports.period(_day("from"), _day("to"))
    orders = _orders()
    session = page_session()
    sla = engine.reports.sla(session, me, period)
    names = engine.repository.latest_names(session)
    approvals = engine.reports.approvals(session, me, period) if "approval_chain" in names else None
    conversion = engine.reports.lead_conversion(session, me, period) if "lead_qualification" in names else []
    reporting = [parts for parts in registered() if parts.key in names and parts.report_fields]
    counted = [
        (parts, engine.reports.counts_by_field(session, me, parts.key, f, period)) for parts in reporting for f in parts.report_fields
    ]
    # The forms' words and the steps' names, read only for the processes the report names.
    keys = {p.key for p in reporting} | {s.key[0] for s in sla.steps} | ({"approval_chain"} if approvals else set())
    keys |= {"lead_qualification"} if conversion else set()
    latest = {key: d for key, d in engine.repository.latest_ids(session).items() if key in keys}
    catalogues = {key: field_catalogue(engine, session, d) for key, d in latest.items()}
    step_words = {key: element_names(engine, session, d) for key, d in latest.items()}
    fields = [
        (parts, label_of(c.field, catalogues[parts.key], parts), c, _words(catalogues[parts.key], c.field, [t for t, _n in c.counts]))
        for parts, c in counted
    ]
    step_names = [
        f"{labels.process_name(p, names.get(p))} · {labels.task_name(t, step_words.get(p, {}).get(t))}"
        for p, t in (s.key for s in sla.steps)
    ]
    department_names = [d.key[0] or _("(no department)") for d in sla.departments]
    charts = [
        _on_time_chart("chart-sla-steps", sla.steps, step_names),
        _on_time_chart("chart-sla-departments", sla.departments, department_names),
    ]
    by_type = approvals.by_type if approvals else []
    type_words = _words(catalogues.get("approval_chain", {}), "request_type", [c.key for c in by_type])
    type_names = [type_words[c.key] for c in by_type]
    approver_names = [person(c.key) for c in (approvals.by_approver if approvals else [])]
    if approvals:
        charts.append(_hours_chart("chart-approval-types", approvals.by_type, type_names))
        charts.append(_hours_chart("chart-approvers", approvals.by_approver, approver_names))
    by_source: dict[str, list[int]] = {}
    for c in conversion:
        totals = by_source.setdefault(c.source, [0, 0, 0])
        totals[0], totals[1], totals[2] = totals[0] + c.captured, totals[1] + c.qualified, totals[2] + c.trading
    source_names = _words(catalogues.get("lead_qualification", {}), "source", by_source)
    charts.append(
        {
            "id": "chart-conversion",
            "categories": [source_names[k] for k in by_source],
            "series": [
                {"name": _("Captured"), "data": [v[0] for v in by_source.values()], "color": "#90a4ae"},
                {"name": _("Qualified"), "data": [v[1] for v in by_source.values()], "color": "#1565c0"},
                {"name": _("Trading customer"), "data": [v[2] for v in by_source.values()], "color": "#2e7d32"},
            ],
        }
    )
    for parts, label, counts, words in fields:
        charts.append(
            {
                "id": f"chart-{parts.key}-{counts.field}",
                "categories": [words[t] for t, _n in counts.counts],
                "series": [{"name": label, "data": [n for _t, n in counts.counts], "color": "#1565c0"}],
            }
        )
    return render_template(
        "monitor/reports.html",
        period=period,
        orders=orders,
        sla=sla,
        step_names=step_names,
        department_names=department_names,
        fields=fields,
        names=names,
        approvals=approvals,
        type_names=type_names,
        approver_names=approver_names,
        conversion=conversion,
        source_names=source_names,
        charts={c["id"]: c for c in charts},
    )
