"""The monitor (/monitor, WfMC component 5) for supervisors (their organisation subtree) and admins
(everything): every process with its versions, instances by status and the last 30 days' starts and
ends; a process's diagram with each step's open, overdue and completed counts and typical duration,
as a heatmap of where time goes; a step's waiting instances, oldest first."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import calendar
from engine.bpmn.forms import is_digits
from engine.errors import Conflict, ValidationFailed
from engine.services.statistics import PERIODS
from webui import labels
from webui.documents import xml_response
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, page_blueprint

bp = page_blueprint("monitor", __name__)
KEY = "<string(maxlength=128):key>"


@bp.get("/monitor")
def index() -> ResponseReturnValue:
    engine = eng()
    session = page_session()
    summaries = engine.statistics.processes(session, actor())
    days = engine.statistics.trend_days()
    missing = calendar.missing_years(days[-1])
    may_administer = engine.authorization.may_administer(actor())  # the banner links to the calendar
    return render_template("monitor/index.html", summaries=summaries, days=days, missing_years=missing, may_administer=may_administer)


@bp.get(f"/monitor/{KEY}")
def process(key: str) -> ResponseReturnValue:
    engine = eng()
    me = actor()
    period = request.args.get("days", type=int) or 30
    period = period if period in PERIODS else 30
    step_key = (request.args.get("step") or "")[:128] or None
    session = page_session()
    stats = engine.statistics.process(session, me, key, period)
    for s in stats.steps:
        s.name = labels.task_name(s.task_key, s.name)
    waiting, waiting_total = engine.statistics.waiting(session, me, key, step_key) if step_key else ([], 0)
    ttl = engine.cleanup.ttl_of(session, key)
    overlays = {s.task_key: s.as_dict() for s in stats.steps}
    return render_template(
        "monitor/process.html",
        stats=stats,
        overlays=overlays,
        period=period,
        periods=PERIODS,
        step_key=step_key,
        step=next((s for s in stats.steps if s.task_key == step_key), None),
        waiting=waiting,
        waiting_total=waiting_total,
        ttl=ttl,
        now=engine.clock(),
        xml_url=url_for("monitor.diagram", key=key),
    )


@bp.get(f"/monitor/{KEY}/diagram.bpmn")
def diagram(key: str) -> ResponseReturnValue:
    """The latest version's BPMN for the monitor's diagram (whoever may monitor)."""
    engine = eng()
    with engine.db.sessions() as session:
        engine.authorization.require_monitor(session, actor())
        xml = engine.repository.bpmn_xml(session, key=key)
    return xml_response(xml)


@bp.post(f"/monitor/{KEY}/history-ttl")
def history_ttl(key: str) -> ResponseReturnValue:
    """Admins: how long the process's finished instances are kept (empty: for ever)."""
    text = (request.form.get("days") or "").strip()
    back = url_for("monitor.process", key=key) + "#history-ttl"
    if text and not (is_digits(text) and len(text) <= 6):
        return done(_("Enter a whole number of days, or leave it empty to keep for ever."), back, "error", events=())
    try:
        days = eng().cleanup.set_ttl(actor(), key, int(text) if text else None)
    except ValidationFailed:
        return done(_("Enter a whole number of days, or leave it empty to keep for ever."), back, "error", events=())
    return done(
        _("Finished instances are now kept for %(num)d days.", num=days) if days else _("Finished instances are now kept for ever."), back
    )


@bp.get("/monitor/jobs")
def jobs() -> ResponseReturnValue:
    """Admins: the incidents with their errors (retried from here) and the jobs due next."""
    engine = eng()
    with engine.db.sessions() as session:
        upcoming, counts = engine.jobs.upcoming(session, actor())
        incidents = engine.jobs.incidents(session, actor())
    return render_template("monitor/jobs.html", upcoming=upcoming, counts=counts, pending_total=sum(counts.values()), incidents=incidents)


@bp.post("/monitor/jobs/<int(min=1, max=2147483647):job_id>/retry")
def retry(job_id: int) -> ResponseReturnValue:
    back = url_for("monitor.jobs")
    try:
        eng().jobs.retry(actor(), job_id)
    except Conflict:
        return done(_("This job is no longer an incident."), back, "warning", events=())
    return done(_("The job runs again at the next tick."), back)
