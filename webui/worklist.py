"""The worklist (/tasks): tabs with counts, filters, sorting, paging, saved filters with live counts,
claim from the list, and bulk claim / bulk reassign. htmx swaps only the list; without
JavaScript every link and form still works as a full page."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import EngineError, ValidationFailed
from engine.services.worklist import DUE_FILTERS, PRIORITIES, SORTS, TaskFilter
from webui import labels
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.i18n import ngettext
from webui.ui import actor, done, eng, error_page, is_htmx, page_arg, page_blueprint, worklist

bp = page_blueprint("worklist", __name__)
MAX_BULK = 100


def worklist_url(f: TaskFilter, page: int = 1, **changes: str | None) -> str:
    params: dict[str, Any] = {**f.params(), **changes}
    if page > 1:
        params["page"] = page
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{url_for('worklist.index')}{'?' + query if query else ''}"


def _view(f: TaskFilter, page: int) -> dict[str, Any]:
    """Everything the list and its sidebar show, read in the request's page session (whose memo
    the header's helpers share)."""
    service = worklist()
    me = actor()
    session = page_session()
    tabs = service.tabs(session, me)
    if f.tab not in tabs:
        f = f.with_tab("mine")
    saved_filters = service.saved_filters(session, me)
    saved_views = [TaskFilter.from_params(s.params) for s in saved_filters]
    # Every tab's count and every saved filter's, in one statement.
    numbers = service.counts_of(session, me, [TaskFilter(tab=tab) for tab in tabs] + saved_views)
    counts = dict(zip(tabs, numbers, strict=False))
    per_page = int(current_app.config["WORKLIST_PAGE_SIZE"])
    if f.tab == "started":
        result = service.started(session, me, f, page, per_page)
    else:
        result = service.tasks(session, me, f, page, per_page, total=None if f.is_filtered else counts.get(f.tab))
    escalations = service.escalations(session, me, result) if f.tab == "team" else {}
    saved = list(zip(saved_filters, numbers[len(tabs) :], saved_views, strict=True))
    reports = service.reports(session, me)
    # Next steps of activities come due: on the first page of one's own tasks, unfiltered.
    follow_ups = eng().activities.follow_ups(session, me) if f.tab == "mine" and page == 1 and not f.is_filtered else ([], 0)
    g.process_names = eng().repository.latest_names(session)  # process_title() reads them too
    processes = list(g.process_names.items())
    return {
        "f": f,
        "tabs": tabs,
        "counts": counts,
        "result": result,
        "escalations": escalations,
        "saved": saved,
        "reports": reports,
        "follow_ups": follow_ups,
        "processes": processes,
        "due_filters": DUE_FILTERS,
        "priorities": PRIORITIES,
        "sorts": SORTS,
        "worklist_url": worklist_url,
        "now": eng().clock(),
    }


@bp.get("/tasks")
def index() -> ResponseReturnValue:
    f = TaskFilter.from_params(request.args)
    view = _view(f, page_arg())
    if is_htmx() and request.headers.get("HX-Target") == "worklist":
        return render_template("worklist/_list.html", oob=True, **view)
    return render_template("worklist/index.html", oob=False, **view)


@bp.post("/tasks/bulk")
def bulk() -> ResponseReturnValue:
    """Claim, or (supervisors) reassign, the selected tasks; each task is its own transaction, so
    one that someone else took meanwhile does not stop the others."""
    ids = request.form.getlist("task")[:MAX_BULK]
    action = request.form.get("action")
    back = worklist_url(TaskFilter.from_params(request.args))
    if not ids:
        return done(_("Select one or more tasks first."), back, "warning", events=())
    username = request.form.get("username", "")
    if action == "assign" and not username:
        return done(_("Choose the person to assign the tasks to."), back, "warning", events=())
    if action not in ("claim", "assign"):
        return error_page(400, _("This action is not available here."))
    succeeded, failed = 0, 0
    for task_id in ids:
        try:
            if action == "claim":
                eng().tasks.claim(actor(), task_id)
            else:
                eng().tasks.assign(actor(), task_id, username)
            succeeded += 1
        except EngineError:
            failed += 1
    if action == "claim":
        message = ngettext("Claimed %(num)d task.", "Claimed %(num)d tasks.", succeeded)
    else:
        message = ngettext("Assigned %(num)d task.", "Assigned %(num)d tasks.", succeeded)
    if failed:
        message += " " + ngettext(
            "%(num)d task could not be changed (taken by someone else or not allowed).",
            "%(num)d tasks could not be changed (taken by someone else or not allowed).",
            failed,
        )
    return done(message, back, "warning" if failed else "success")


def _filter_from_form() -> TaskFilter:
    """The filter being saved: the live filter fields (htmx includes them), else the page's URL."""
    if any(key in request.form for key in ("tab", "q", "process", "due", "priority", "sort")):
        return TaskFilter.from_params(request.form)
    try:
        query = urlsplit(request.form.get("from_url", "")).query
    except ValueError:  # not a URL (an unclosed IPv6 bracket): the default filter
        query = ""
    return TaskFilter.from_params(dict(parse_qsl(query)))


@bp.post("/filters")
def save_filter() -> ResponseReturnValue:
    f = _filter_from_form()
    try:
        saved = worklist().save_filter(actor(), request.form.get("name"), f)
    except ValidationFailed as exc:
        message = labels.field_error(next(iter(exc.fields.values())))
        return done(_("The filter was not saved: %(reason)s", reason=message), worklist_url(f), "error", events=())
    return done(_("Saved the filter “%(name)s”.", name=saved.name), worklist_url(f))


@bp.post("/filters/<int(min=1, max=2147483647):filter_id>/delete")
def delete_filter(filter_id: int) -> ResponseReturnValue:
    worklist().delete_filter(actor(), filter_id)
    return done(_("The filter was deleted."), url_for("worklist.index"))
