"""The monitor's instance search (/monitor/instances): any business field of a process's forms
(options as lists, numbers and dates as ranges, text containing), status, started between, the
open step and overdue; sorted and paged; the same query as XLSX and CSV, and a process's register
as a printable page. Supervisors see their organisation's instances, admins all (the API's scope).
Admins suspend, resume or terminate the result in bulk, after a preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.clock import aware
from engine.errors import NotFound
from engine.process_parts import N_, parts_of
from engine.services.presentation import element_names, field_catalogue, start_field_ids
from webui import labels
from webui.context import label_of
from webui.i18n import gettext as _
from webui.instance_tables import INTERNAL, STATUSES, Query, export_download, register
from webui.ui import actor, done, eng, page_arg, page_blueprint

bp = page_blueprint("instance_search", __name__)
PAGE_SIZE = 50


@dataclass
class Filter:
    """One business field on the search form: how it is asked for, and what was asked."""

    key: str
    label: str
    kind: str  # options | number | date | boolean | text
    options: list[tuple[str, str]] = field(default_factory=list)
    primary: bool = False  # on the start form: shown open; the others under "more fields"


def _filters(session: Any, process_key: str) -> tuple[list[Filter], list[tuple[str, str]]]:
    engine = eng()
    definition_id = engine.repository.latest_id(session, process_key)
    catalogue = field_catalogue(engine, session, definition_id)
    on_start = start_field_ids(session, definition_id)
    parts = parts_of(process_key)
    found = []
    for key, info in catalogue.items():
        if key in INTERNAL or key in ("decision", "comment"):
            continue
        kind = {"long": "number", "double": "number", "date": "date", "boolean": "boolean"}.get(info["type"], "text")
        options = [(k, labels.option_label(k, v)) for k, v in info["options"].items()]
        found.append(Filter(key, label_of(key, catalogue, parts), "options" if options else kind, options, key in on_start))
    steps = [(k, labels.task_name(k, name)) for k, name in element_names(engine, session, definition_id, user_tasks=True).items()]
    return found, steps


@bp.get("/monitor/instances")
def index() -> ResponseReturnValue:
    engine = eng()
    me = actor()
    query = Query.from_params(request.args)
    page = page_arg()
    with engine.db.sessions() as session:
        engine.authorization.require_monitor(session, me)
        processes = {k: labels.process_name(k, n) for k, n in engine.repository.latest_names(session).items()}
        if query.process_key and query.process_key not in processes:
            raise NotFound(f"no process definition with key '{query.process_key}'")
        filters, steps = _filters(session, query.process_key) if query.process_key else ([], [])
        rows, total = engine.runtime.query(session, me, query.process_key, query.status, PAGE_SIZE, (page - 1) * PAGE_SIZE, query.search)
        open_steps = engine.runtime.open_steps(session, [r.id for r in rows])
    params = query.params()
    register_of = parts_of(query.process_key).register if query.process_key else None
    now = engine.clock()
    return render_template(
        "monitor/instances.html",
        query=query,
        asked=request.args,
        params=params,
        processes=processes,
        filters=filters,
        steps=steps,
        statuses=STATUSES,
        rows=rows,
        columns={r.id: parts_of(r.process_key).columns(r.data or {}) for r in rows},
        open_steps=open_steps,
        overdue={t.id for steps_ in open_steps.values() for t in steps_ if t.due_at is not None and aware(t.due_at) < now},  # type: ignore[operator]
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)) if total.exact else None,
        page_size=PAGE_SIZE,
        page_url=lambda n: url_for("instance_search.index") + "?" + urlencode({**params, **({"page": n} if n > 1 else {})}),
        register_title=_(register_of.title) if register_of else None,
        now=now,
    )


def _export(kind: str) -> Response:
    engine = eng()
    me = actor()
    with engine.db.sessions() as session:
        engine.authorization.require_monitor(session, me)
    return export_download(engine, me, request.args, kind)


@bp.get("/monitor/instances/export.xlsx")
def export_xlsx() -> ResponseReturnValue:
    return _export("xlsx")


@bp.get("/monitor/instances/export.csv")
def export_csv() -> ResponseReturnValue:
    return _export("csv")


@bp.get("/monitor/instances/register")
def print_register() -> ResponseReturnValue:
    """The process's register as a page to print (the first 500 instances of the search)."""
    engine = eng()
    me = actor()
    query = Query.from_params(request.args)
    parts = parts_of(query.process_key)
    if not query.process_key or parts.register is None:
        raise NotFound("this process keeps no register")
    with engine.db.sessions() as session:
        engine.authorization.require_monitor(session, me)
        headers, rows, total = register(engine, session, me, query)
    return render_template(
        "monitor/register.html",
        title=_(parts.register.title),
        headers=headers,
        rows=rows,
        total=total,
        query=query,
        back=url_for("instance_search.index") + "?" + urlencode(query.params()),
        printed_by=me.username,
        now=engine.clock(),
    )


BULK_TITLES = {"suspend": N_("Suspend"), "resume": N_("Resume"), "terminate": N_("Terminate")}


@bp.get("/monitor/instances/bulk")
def bulk_preview() -> ResponseReturnValue:
    """Admins: what a bulk operation would change among the search's instances."""
    engine = eng()
    me = actor()
    query = Query.from_params(request.args)
    action = request.args.get("action") or ""
    with engine.db.sessions() as session:
        plan = engine.bulk.plan(session, me, action, query.process_key, query.status, query.search)
        processes = engine.repository.latest_names(session)
    title = _(BULK_TITLES[action])
    return render_template(
        "monitor/bulk.html",
        plan=plan,
        title=title,
        reason=(request.args.get("reason") or "")[:1000],
        processes=processes,
        confirm=_("%(action)s %(num)d instances?", action=title, num=len(plan.changes)),
        back=url_for("instance_search.index") + "?" + urlencode(query.params()),
    )


@bp.post("/monitor/instances/bulk")
def bulk_run() -> ResponseReturnValue:
    back = request.form.get("back") or ""
    back = back if back.startswith("/monitor/instances") else url_for("instance_search.index")  # never elsewhere
    result = eng().bulk.run(
        actor(), request.form.get("action") or "", request.form.getlist("instance"), {"reason": request.form.get("reason") or ""}
    )
    message = _("%(done)d changed, %(skipped)d left as they were (changed meanwhile).", done=len(result.done), skipped=len(result.skipped))
    return done(message, back, "success" if not result.skipped else "warning")
