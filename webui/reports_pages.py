"""The monitor's reports (/monitor/reports; supervisors their team, admins everything): on time and
late per step and per department for a period, and each process's instances by the fields its
package reports on (complaints by category and department, with the rate per month or per 100
orders). Each chart (Apache ECharts, vendored) has its numbers in a table beside it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.bpmn.forms import is_digits
from engine.errors import ValidationFailed
from engine.process_parts import registered
from engine.services.presentation import field_catalogue, user_steps
from engine.services.reports import NOT_SET, CycleTime, FieldCounts, OnTime, Period
from webui import labels
from webui.context import label_of
from webui.ui import actor, eng, page_blueprint, person

bp = page_blueprint("reports", __name__)


def _day(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValidationFailed({name: "must be an ISO date (YYYY-MM-DD)"})


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
    with engine.db.sessions() as session:
        sla = engine.reports.sla(session, me, period)
        names = engine.repository.latest_names(session)
        latest = {key: engine.repository.latest_id(session, key) for key in names}
        catalogues = {key: field_catalogue(engine, session, latest[key]) for key in names}
        step_words = {key: dict(user_steps(engine, session, latest[key])) for key in names}
        approvals = engine.reports.approvals(session, me, period) if "approval_chain" in names else None
        conversion = engine.reports.lead_conversion(session, me, period) if "lead_qualification" in names else []
        fields: list[tuple[Any, str, FieldCounts, dict[str, str]]] = []
        for parts in registered():
            if parts.key not in names:
                continue
            for name in parts.report_fields:
                counts = engine.reports.counts_by_field(session, me, parts.key, name, period)
                options = (catalogues[parts.key].get(name) or {}).get("options") or {}
                words = {
                    text: labels.option_label(text, options.get(text)) if text != NOT_SET else _("(not set)") for text, _n in counts.counts
                }
                fields.append((parts, label_of(name, catalogues[parts.key], parts), counts, words))
    step_names = [
        f"{labels.process_name(p, names.get(p))} · {labels.task_name(t, step_words.get(p, {}).get(t))}"
        for p, t in (s.key for s in sla.steps)
    ]
    department_names = [d.key[0] or _("(no department)") for d in sla.departments]
    charts = [
        _on_time_chart("chart-sla-steps", sla.steps, step_names),
        _on_time_chart("chart-sla-departments", sla.departments, department_names),
    ]
    request_types = ((catalogues.get("approval_chain") or {}).get("request_type") or {}).get("options") or {}
    type_names = [
        labels.option_label(c.key, request_types.get(c.key)) if c.key else _("(not set)") for c in (approvals.by_type if approvals else [])
    ]
    approver_names = [person(c.key) for c in (approvals.by_approver if approvals else [])]
    if approvals:
        charts.append(_hours_chart("chart-approval-types", approvals.by_type, type_names))
        charts.append(_hours_chart("chart-approvers", approvals.by_approver, approver_names))
    sources = ((catalogues.get("lead_qualification") or {}).get("source") or {}).get("options") or {}
    by_source: dict[str, list[int]] = {}
    for c in conversion:
        totals = by_source.setdefault(c.source, [0, 0, 0])
        totals[0], totals[1], totals[2] = totals[0] + c.captured, totals[1] + c.qualified, totals[2] + c.trading
    source_names = {k: labels.option_label(k, sources.get(k)) if k else _("(not set)") for k in by_source}
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
