"""Activities outside the customer page: logged on a lead from its qualification's instance page,
and follow-ups (next steps come due) closed from the worklist, optionally with what was done."""

from __future__ import annotations

from flask import request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import Conflict, ValidationFailed
from webui.customers_pages import error_detail
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, page_blueprint, safe_next

bp = page_blueprint("activities", __name__)
INT = "int(min=1, max=2147483647)"
FIELDS = ("kind", "summary", "next_step", "next_at", "assignee")


def _form() -> dict[str, str]:
    return {k: v for k in FIELDS if (v := request.form.get(k, ""))}


@bp.post(f"/leads/<{INT}:lead_id>/activities")
def on_lead(lead_id: int) -> ResponseReturnValue:
    back = safe_next(request.form.get("next"), url_for("worklist.index")) + "#lead-activity"
    data = _form()
    try:
        eng().activities.on_lead(actor(), lead_id, data)
    except ValidationFailed as exc:
        return done(_("The activity was not saved: %(detail)s", detail=error_detail(exc)), back, "error", events=())
    except Conflict:
        return done(_("This lead has been qualified or closed; log the activity on its customer."), back, "warning", events=())
    if data.get("next_at"):
        return done(_("Activity saved; you will be reminded of the next step."), back, events=())
    return done(_("Activity saved."), back, events=())


@bp.post(f"/follow-ups/<{INT}:activity_id>/done")
def close(activity_id: int) -> ResponseReturnValue:
    back = safe_next(request.form.get("next"), url_for("worklist.index"))
    data = _form()
    try:
        logged = eng().activities.done(actor(), activity_id, data)
    except ValidationFailed as exc:
        return done(_("The follow-up was not closed: %(detail)s", detail=error_detail(exc)), back, "error", events=())
    except Conflict:
        return done(_("This follow-up was already done."), back, "warning", events=("worklist-changed",))
    if logged is not None:
        return done(_("Follow-up done; what you did is in the activity log."), back, events=("worklist-changed",))
    return done(_("Follow-up done."), back, events=("worklist-changed",))
